import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";

/**
 * The texts of the statements clerk-sync sends as named (prepared) statements on PostgreSQL, each
 * with its name. PostgreSQL then parses each text once per connection, and after a few runs
 * plans it once too: for the set-based batches, whose one statement holds many rows, parsing
 * and planning were about a quarter of the server's CPU per batch (docs/performance.md).
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
export function preparingPool(pool: PostgresPool, texts: PreparedTexts, perConnection = 64): PostgresPool {
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
