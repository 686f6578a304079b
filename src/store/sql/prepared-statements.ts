import type {
  MysqlPool,
  MysqlPoolConnection,
  MysqlQueryResult,
  MysqlStream,
  MysqlStreamOptions,
  PostgresCursor,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryResult,
} from "kysely";
import { ClerkSyncError } from "../../core/errors.js";

/**
 * Takes clerk-sync's `prepared_statements` parameter (`true` / `false`) out of a database URL,
 * answering it (undefined when absent); any other value is an `invalid_config` error.
 */
export function takePreparedStatementsParam(url: URL): boolean | undefined {
  const value = url.searchParams.get("prepared_statements");
  if (value === null) return undefined;
  if (value !== "true" && value !== "false") {
    throw new ClerkSyncError("invalid_config", "DATABASE_URL's prepared_statements must be true or false");
  }
  url.searchParams.delete("prepared_statements");
  return value === "true";
}

/**
 * The texts of the statements clerk-sync sends as prepared statements, each with a name. The
 * server then parses each text once per connection (PostgreSQL, after a few runs, plans it once
 * too): for the set-based batches, whose one statement holds many rows, parsing and planning
 * were about a quarter of PostgreSQL's CPU per batch (docs/performance.md). On MySQL the values
 * also travel in the binary protocol instead of being escaped into the text by the client.
 *
 * A batch's text depends on its shape (tables, kinds of write, rows per table), not on its
 * values, so a busy receiver sends few texts again and again. The registry stops growing at
 * `maxTexts`; later texts are sent unnamed, as before.
 */
export class PreparedTexts {
  readonly #names = new Map<string, string>();

  constructor(private readonly maxTexts = 256) {}

  /** Marks `text` to be sent as a prepared statement, while the registry has room. */
  register(text: string): void {
    if (this.#names.size < this.maxTexts && !this.#names.has(text)) {
      this.#names.set(text, `clerk_sync_${this.#names.size + 1}`);
    }
  }

  nameFor(text: string): string | undefined {
    return this.#names.get(text);
  }
}

/** Prepared statements kept on one connection (the server keeps each, with its plan, until it closes). */
export const MAX_PREPARED_PER_CONNECTION = 64;

/** What `pg`'s client takes besides Kysely's calls: a query with a statement name. */
interface NamingClient extends PostgresPoolClient {
  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<PostgresQueryResult<R>>;
}

/**
 * `pool` (a `pg.Pool`) for Kysely, its clients sending the registered texts as named statements.
 * Each connection prepares at most `perConnection` of them (the server keeps a prepared statement,
 * and its plan, until the connection closes); past that, texts go unnamed.
 */
export function preparingPool(
  pool: PostgresPool,
  texts: PreparedTexts,
  perConnection = MAX_PREPARED_PER_CONNECTION,
): PostgresPool {
  // The same wrapper for the same pooled client: Kysely keys its connection objects by client.
  const wrappers = new WeakMap<PostgresPoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = (await pool.connect()) as NamingClient;
      let wrapper = wrappers.get(client);
      if (wrapper === undefined) {
        wrapper = namingClient(client, texts, perConnection);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

function namingClient(client: NamingClient, texts: PreparedTexts, perConnection: number): PostgresPoolClient {
  const prepared = new Set<string>();
  function query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  function query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  function query<R>(
    sqlOrCursor: string | PostgresCursor<R>,
    parameters?: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    if (typeof sqlOrCursor !== "string") return client.query(sqlOrCursor);
    const name = texts.nameFor(sqlOrCursor);
    if (name !== undefined && (prepared.has(name) || prepared.size < perConnection)) {
      prepared.add(name);
      return client.query<R>({ name, text: sqlOrCursor, values: [...(parameters ?? [])] });
    }
    return client.query<R>(sqlOrCursor, parameters ?? []);
  }
  return { query, release: (destroy?: boolean) => client.release(destroy) };
}

/** What `mysql2`'s pooled connection takes besides Kysely's calls: a prepared statement. */
interface ExecutingConnection extends MysqlPoolConnection {
  execute(sql: string, parameters: unknown[], callback: (error: unknown, result: MysqlQueryResult) => void): void;
}

/**
 * `pool` (a `mysql2` pool) for Kysely, its connections running the registered texts as prepared
 * statements (`execute`). mysql2 keeps them per connection, at most the pool's
 * `maxPreparedStatements`, closing the least recently used.
 */
export function executingPool(pool: MysqlPool, texts: PreparedTexts): MysqlPool {
  const wrappers = new WeakMap<MysqlPoolConnection, MysqlPoolConnection>();
  return {
    getConnection(callback) {
      pool.getConnection((error, connection) => {
        if (error) return callback(error, connection);
        let wrapper = wrappers.get(connection);
        if (wrapper === undefined) {
          wrapper = executingConnection(connection as ExecutingConnection, texts);
          wrappers.set(connection, wrapper);
        }
        callback(error, wrapper);
      });
    },
    end: (callback) => pool.end(callback),
  };
}

type Streaming = { stream: <T>(options: MysqlStreamOptions) => MysqlStream<T> };

function executingConnection(connection: ExecutingConnection, texts: PreparedTexts): MysqlPoolConnection {
  function query(sql: string, parameters: unknown[]): Streaming;
  function query(
    sql: string,
    parameters: unknown[],
    callback: (error: unknown, result: MysqlQueryResult) => void,
  ): void;
  function query(
    sql: string,
    parameters: unknown[],
    callback?: (error: unknown, result: MysqlQueryResult) => void,
  ): Streaming | undefined {
    if (callback === undefined) return connection.query(sql, parameters);
    if (texts.nameFor(sql) !== undefined) connection.execute(sql, parameters, callback);
    else connection.query(sql, parameters, callback);
    return undefined;
  }
  return { query, release: () => connection.release() };
}
