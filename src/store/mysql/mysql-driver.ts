import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  MysqlDialect,
  MysqlDriver,
  type MysqlOkPacket,
  type MysqlPool,
  type MysqlPoolConnection,
  type MysqlQueryResult,
  type QueryResult,
} from "kysely";
import { type PreparedTexts, withCallerStack } from "../sql/prepared-statements.js";

/**
 * A pooled `mysql2` connection: the calls Kysely makes, and `execute` (a prepared statement).
 * mysql2's typings of `execute` take its own value types, not Kysely's `unknown[]`: the pool is
 * typed as Kysely's `MysqlPool`, and its connections are read as this.
 */
interface ExecutingConnection extends MysqlPoolConnection {
  execute(sql: string, parameters: unknown[], callback: (error: unknown, result: MysqlQueryResult) => void): void;
}

/** What {@link PreparingMysqlDialect} needs. */
export interface PreparingMysqlConfig {
  /**
   * The `mysql2` pool (callback API) clerk-sync opened; the driver's `destroy()` ends it. Its
   * `maxPreparedStatements` bounds the statements kept per connection (mysql2 closes the least
   * recently used).
   */
  readonly pool: MysqlPool;
  /** The texts to run as prepared statements (registered by the set-based batches). */
  readonly texts: PreparedTexts;
  /** Runs once on each new connection, before its first use: the session's setup. */
  readonly onCreateConnection?: ((connection: DatabaseConnection) => Promise<void>) | undefined;
}

/**
 * Kysely's MySQL dialect (its query compiler, adapter and introspector) on
 * {@link PreparingMysqlDriver}: the dialect of the pool clerk-sync opens from a URL, unless
 * prepared statements are turned off (then Kysely's own `MysqlDialect`).
 *
 * @example
 * const texts = new PreparedTexts();
 * const db = new Kysely<ClerkSyncDatabase>({ dialect: new PreparingMysqlDialect({ pool, texts }) });
 * texts.register(text); // later queries with this text run as a prepared statement
 */
export class PreparingMysqlDialect extends MysqlDialect {
  readonly #config: PreparingMysqlConfig;

  constructor(config: PreparingMysqlConfig) {
    super({ pool: config.pool });
    this.#config = config;
  }

  override createDriver(): Driver {
    return new PreparingMysqlDriver(this.#config);
  }
}

/**
 * Kysely's `MysqlDriver` whose connections run the registered texts ({@link PreparedTexts}) as
 * prepared statements, through mysql2's `execute`: the server parses a text once per
 * connection, and the values travel in the binary protocol. mysql2 prepares a text on its first
 * `execute` on a connection (one more round trip, once) and keeps it, up to the pool's
 * `maxPreparedStatements`. Other texts go as Kysely's driver sends them, `connection.query`.
 *
 * Kysely's own: `init`, transactions (isolation level, access mode), savepoints, and the pool's
 * end in `destroy`. Replaced: acquiring and releasing connections (Kysely's connection class is
 * private to its driver). A connection whose `onCreateConnection` fails goes back to the pool
 * without joining the driver's connections, so its setup runs again on its next use (Kysely's
 * driver keeps it checked out).
 *
 * @example
 * const driver = new PreparingMysqlDriver({ pool, texts, onCreateConnection });
 */
export class PreparingMysqlDriver extends MysqlDriver {
  readonly #pool: MysqlPool;
  readonly #texts: PreparedTexts;
  readonly #onCreateConnection: PreparingMysqlConfig["onCreateConnection"];
  /** One connection per pooled connection of mysql2, kept with it. */
  readonly #connections = new WeakMap<ExecutingConnection, PreparingMysqlConnection>();

  constructor(config: PreparingMysqlConfig) {
    super({ pool: config.pool });
    this.#pool = config.pool;
    this.#texts = config.texts;
    this.#onCreateConnection = config.onCreateConnection;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const pooled = await new Promise<ExecutingConnection>((resolve, reject) => {
      this.#pool.getConnection((error, connection) =>
        error ? reject(error) : resolve(connection as ExecutingConnection),
      );
    });
    let connection = this.#connections.get(pooled);
    if (connection === undefined) {
      connection = new PreparingMysqlConnection(pooled, this.#texts);
      try {
        await this.#onCreateConnection?.(connection);
      } catch (error) {
        pooled.release();
        throw error;
      }
      this.#connections.set(pooled, connection);
    }
    return connection;
  }

  override async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PreparingMysqlConnection).release();
  }
}

/** One pooled `mysql2` connection as Kysely uses it, executing the registered texts. */
class PreparingMysqlConnection implements DatabaseConnection {
  readonly #pooled: ExecutingConnection;
  readonly #texts: PreparedTexts;

  constructor(pooled: ExecutingConnection, texts: PreparedTexts) {
    this.#pooled = pooled;
    this.#texts = texts;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return queryResult<R>(await this.#run(query.sql, query.parameters));
    } catch (error) {
      throw withCallerStack(error);
    }
  }

  #run(sql: string, parameters: readonly unknown[]): Promise<MysqlQueryResult> {
    return new Promise((resolve, reject) => {
      const done = (error: unknown, result: MysqlQueryResult) => (error ? reject(error) : resolve(result));
      // mysql2 only reads the values (Kysely's driver hands it the same array).
      const values = parameters as unknown[];
      if (this.#texts.has(sql)) this.#pooled.execute(sql, values, done);
      else this.#pooled.query(sql, values, done);
    });
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // Streams go as text queries, as Kysely's driver sends them: a row at a time.
    const stream = this.#pooled.query(query.sql, query.parameters as unknown[]).stream<R>({ objectMode: true });
    try {
      for await (const row of stream) yield { rows: [row] };
    } catch (error) {
      // mysql2 closes the stream early when the query ends under it (mysqljs's Query.js): its end.
      if (typeof error === "object" && error !== null && "code" in error && error.code === "ERR_STREAM_PREMATURE_CLOSE")
        return;
      throw error;
    }
  }

  release(): void {
    this.#pooled.release();
  }
}

/**
 * mysql2's answer as Kysely's driver answers it: a write's result header as the ids and counts
 * it carries (no rows), an array as the rows, anything else as no rows.
 */
function queryResult<R>(result: MysqlQueryResult): QueryResult<R> {
  if (isOkPacket(result)) {
    const { insertId, affectedRows, changedRows } = result;
    return {
      // mysql2 answers 0 when the statement generated no id.
      insertId: insertId == null || String(insertId) === "0" ? undefined : BigInt(insertId),
      numAffectedRows: affectedRows == null ? undefined : BigInt(affectedRows),
      numChangedRows: changedRows == null ? undefined : BigInt(changedRows),
      rows: [],
    };
  }
  return { rows: Array.isArray(result) ? (result as R[]) : [] };
}

function isOkPacket(result: MysqlQueryResult): result is MysqlOkPacket {
  return typeof result === "object" && result !== null && "insertId" in result && "affectedRows" in result;
}
