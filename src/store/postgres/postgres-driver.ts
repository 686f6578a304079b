import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type PostgresCursor,
  PostgresDialect,
  PostgresDriver,
  type PostgresPool,
  type PostgresPoolClient,
  type PostgresQueryResult,
  type QueryResult,
} from "kysely";
import { MAX_PREPARED_PER_CONNECTION, type PreparedTexts, withCallerStack } from "../sql/prepared-statements.js";

/** A pooled `pg` client: the calls Kysely makes, and a query with a statement name. */
export interface NamingClient extends PostgresPoolClient {
  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(config: { name: string; text: string; values: unknown[] }): Promise<PostgresQueryResult<R>>;
}

/** A `pg.Pool`, whose clients take statement names. */
export interface NamingPool extends PostgresPool {
  connect(): Promise<NamingClient>;
}

/** What {@link PreparingPostgresDialect} needs. */
export interface PreparingPostgresConfig {
  /** The pool clerk-sync opened; the driver's `destroy()` ends it. */
  readonly pool: NamingPool;
  /** The texts to send as named statements (registered by the set-based batches). */
  readonly texts: PreparedTexts;
  /** Named statements prepared on one connection at most; past that, texts go unnamed. Default 64. */
  readonly perConnection?: number | undefined;
}

/**
 * Kysely's PostgreSQL dialect (its query compiler, adapter and introspector) on
 * {@link PreparingPostgresDriver}: the dialect of the pool clerk-sync opens from a URL, unless
 * prepared statements are turned off (then Kysely's own `PostgresDialect`).
 *
 * @example
 * const texts = new PreparedTexts();
 * const db = new Kysely<ClerkSyncDatabase>({ dialect: new PreparingPostgresDialect({ pool, texts }) });
 * texts.register(text); // later queries with this text go as a named statement
 */
export class PreparingPostgresDialect extends PostgresDialect {
  readonly #config: PreparingPostgresConfig;

  constructor(config: PreparingPostgresConfig) {
    super({ pool: config.pool });
    this.#config = config;
  }

  override createDriver(): Driver {
    return new PreparingPostgresDriver(this.#config);
  }
}

/**
 * Kysely's `PostgresDriver` whose connections send the registered texts ({@link PreparedTexts})
 * as named statements, `{ name, text, values }` to `pg`: the first run on a connection parses
 * the text under its name (in the same round trip), later runs only bind and execute it, and
 * PostgreSQL may keep a generic plan. Each connection names at most `perConnection` texts (the
 * server keeps each, with its plan, until the connection closes); other texts go as Kysely's
 * driver sends them, `client.query(text, values)`, so the same statements reach the server.
 *
 * Kysely's own: `init`, transactions (`beginTransaction` with isolation level and access mode,
 * `commitTransaction`, which throws `AbortedTransactionError` when the server answers a COMMIT
 * with ROLLBACK), savepoints, and the pool's end in `destroy`. Replaced: acquiring and
 * releasing connections (Kysely's connection class is private to its driver), and
 * `rollbackTransaction`, which discards a connection that failed to roll back.
 *
 * @example
 * const driver = new PreparingPostgresDriver({ pool, texts, perConnection: 64 });
 */
export class PreparingPostgresDriver extends PostgresDriver {
  readonly #pool: NamingPool;
  readonly #texts: PreparedTexts;
  readonly #perConnection: number;
  /** One connection per pooled client, kept with it: it knows what the client has prepared. */
  readonly #connections = new WeakMap<NamingClient, PreparingPostgresConnection>();
  #destroyed = false;

  constructor(config: PreparingPostgresConfig) {
    super({ pool: config.pool });
    this.#pool = config.pool;
    this.#texts = config.texts;
    this.#perConnection = config.perConnection ?? MAX_PREPARED_PER_CONNECTION;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const client = await this.#pool.connect();
    if (this.#destroyed) {
      // destroy() ran while the pool was connecting.
      client.release();
      throw new Error("driver has already been destroyed");
    }
    let connection = this.#connections.get(client);
    if (connection === undefined) {
      connection = new PreparingPostgresConnection(client, this.#texts, this.#perConnection);
      this.#connections.set(client, connection);
    }
    return connection;
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await connection.executeQuery(CompiledQuery.raw("rollback"));
    } catch (error) {
      // It may still be in the transaction: the pool closes it instead of handing it out again.
      (connection as PreparingPostgresConnection).discard();
      throw error;
    }
  }

  override async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PreparingPostgresConnection).release();
  }

  override async destroy(): Promise<void> {
    this.#destroyed = true;
    await super.destroy();
  }
}

/** One pooled `pg` client as Kysely uses it, naming the registered texts. */
class PreparingPostgresConnection implements DatabaseConnection {
  readonly #client: NamingClient;
  readonly #texts: PreparedTexts;
  readonly #perConnection: number;
  /** The statement names this connection has sent (the server keeps them until it closes). */
  readonly #named = new Set<string>();
  #discarded = false;

  constructor(client: NamingClient, texts: PreparedTexts, perConnection: number) {
    this.#client = client;
    this.#texts = texts;
    this.#perConnection = perConnection;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.#discarded) throw new Error("PostgreSQL connection has been discarded");
    const text = query.sql;
    const values = [...query.parameters];
    const name = this.#nameFor(text);
    try {
      const result =
        name === undefined
          ? await this.#client.query<R>(text, values)
          : await this.#client.query<R>({ name, text, values });
      return queryResult(result);
    } catch (error) {
      throw withCallerStack(error);
    }
  }

  /** The name to send `text` under: registered, and named here already or with room for it. */
  #nameFor(text: string): string | undefined {
    const name = this.#texts.nameFor(text);
    if (name === undefined || this.#named.has(name)) return name;
    if (this.#named.size >= this.#perConnection) return undefined;
    this.#named.add(name);
    return name;
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    // Kysely's driver streams through `pg-cursor`, given as the dialect's `cursor`; clerk-sync gives none.
    throw new Error("Streaming from PostgreSQL needs Kysely's `cursor` option; clerk-sync's pool has none");
  }

  release(): void {
    // A discarded client is closed rather than returned to the pool.
    this.#client.release(this.#discarded);
  }

  discard(): void {
    this.#discarded = true;
  }
}

const WRITES = new Set(["INSERT", "UPDATE", "DELETE", "MERGE"]);

/**
 * `pg`'s answer as Kysely's driver answers it: the rows, and for a write the rows it changed.
 * COMMIT and ROLLBACK answer their command tag as the one row: `commitTransaction` reads it (a
 * COMMIT after a failed statement is answered ROLLBACK). Several statements in one text answer an
 * array of results, which this reads as no rows, as Kysely's driver does.
 */
function queryResult<R>(result: PostgresQueryResult<R>): QueryResult<R> {
  const { command, rowCount, rows } = result;
  if (command === "COMMIT" || command === "ROLLBACK") return { rows: [{ command }] as R[] };
  return { numAffectedRows: WRITES.has(command) ? BigInt(rowCount) : undefined, rows: rows ?? [] };
}
