import { CompiledQuery, type DatabaseConnection, Kysely, MysqlDialect, type MysqlPool } from "kysely";
import { ClerkSyncError } from "../../core/errors.js";
import type { ClerkSyncDatabase } from "../schema/database.js";
import { MAX_PREPARED_PER_CONNECTION, PreparedTexts, takePreparedStatementsParam } from "../sql/prepared-statements.js";
import { checkOneSource, createKyselyStore, DEFAULT_LOCK_TIMEOUT_MS } from "../sql/sql-store.js";
import type { ClerkSyncStore } from "../store.js";
import { MYSQL } from "./mysql-dialect.js";
import { PreparingMysqlDialect } from "./mysql-driver.js";

/** Give exactly one of `url`, `pool` or `kysely`. */
export interface MysqlStoreOptions {
  /**
   * A `mysql://` or `mariadb://` URL naming the database (`mysql://user:pass@host:3306/app`);
   * query parameters are `mysql2` options. clerk-sync opens the pool and closes it on `close()`.
   */
  url?: string;
  /**
   * Your own `mysql2` pool: `mysql2.createPool(…)`, or a `mysql2/promise` pool (its `.pool` is
   * used). `close()` leaves it open.
   */
  pool?: MysqlPool | { readonly pool: MysqlPool };
  /** Your own Kysely instance on MySQL/MariaDB; `close()` leaves it open. */
  kysely?: Kysely<unknown> | Kysely<ClerkSyncDatabase>;
  /** Connections in the pool clerk-sync opens. Default 10. */
  poolSize?: number;
  /**
   * Batches of deliveries under way at once, each in its own transaction on its own connection.
   * Default 4 (at most `poolSize - 1`, leaving a connection for queries).
   */
  maxConcurrentBatches?: number;
  /** Longest wait for a row locked by another receiver, in ms, rounded up to seconds (then 503). Default 5000. */
  lockTimeoutMs?: number;
  /**
   * Run the statements of set-based batches as prepared statements (with `url` only): the
   * server parses each batch shape once per connection, and values travel in the binary
   * protocol rather than escaped into the text. Turn off behind a proxy that does not support
   * them. Also `?prepared_statements=false` in the URL. Default true.
   */
  preparedStatements?: boolean;
}

/**
 * The MySQL and MariaDB store (InnoDB). `mysql2` is loaded on first use, so SQLite users need
 * not install it. Several receivers may share one database: the delivery key and row locks keep
 * them apart.
 *
 * @example
 * const store = await openMysqlStore({ url: "mysql://root@127.0.0.1:3306/app" });
 * const mine = await openMysqlStore({ pool: mysql2.createPool({ uri }) });
 */
export async function openMysqlStore(options: MysqlStoreOptions): Promise<ClerkSyncStore> {
  checkOneSource("openMysqlStore", options);
  const common = {
    dialect: MYSQL,
    lockTimeoutMs: options.lockTimeoutMs,
    maxConcurrentBatches: options.maxConcurrentBatches,
  };
  if (options.kysely) {
    return createKyselyStore({ ...common, kysely: options.kysely as Kysely<ClerkSyncDatabase>, owned: false });
  }
  if (options.pool) {
    // A mysql2/promise pool wraps the callback pool Kysely drives in `.pool`.
    const pool: MysqlPool = "pool" in options.pool ? options.pool.pool : options.pool;
    // Kysely ends its pool on destroy(); this one is the caller's.
    const borrowed: MysqlPool = {
      getConnection: (callback) => pool.getConnection(callback),
      end: (callback) => callback(undefined),
    };
    const kysely = new Kysely<ClerkSyncDatabase>({ dialect: new MysqlDialect({ pool: borrowed }) });
    return createKyselyStore({ ...common, kysely, owned: true });
  }
  const parsed = new URL(mysqlUri(options.url as string));
  // Taken out of the URL either way: mysql2 warns about options it does not know.
  const fromUrl = takePreparedStatementsParam(parsed);
  const preparedStatements = options.preparedStatements ?? fromUrl ?? true;
  const uri = parsed.toString();
  const mysql = await loadDriver();
  const poolSize = options.poolSize ?? 10;
  const pool = mysql.createPool({
    uri,
    connectionLimit: poolSize,
    // The set-based batches' prepared statements kept per connection (least recently used closed).
    maxPreparedStatements: MAX_PREPARED_PER_CONNECTION,
    connectTimeout: 5000,
    // Numbers beyond 2^53 as strings rather than rounded; times are epoch ms.
    supportBigNumbers: true,
    // MariaDB's JSON is LONGTEXT and comes back as text: MySQL's JSON does too, so both behave alike.
    jsonStrings: true,
  });
  const session = MYSQL.session.sessionSetup(options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  const onCreateConnection = async (connection: DatabaseConnection) => {
    for (const statement of session) await connection.executeQuery(CompiledQuery.raw(statement));
  };
  const texts = preparedStatements ? new PreparedTexts() : undefined;
  const dialect = texts
    ? new PreparingMysqlDialect({ pool, texts, onCreateConnection })
    : new MysqlDialect({ pool, onCreateConnection });
  const kysely = new Kysely<ClerkSyncDatabase>({ dialect });
  const concurrent = options.maxConcurrentBatches ?? Math.max(1, Math.min(4, poolSize - 1));
  return createKyselyStore({
    ...common,
    kysely,
    owned: true,
    maxConcurrentBatches: concurrent,
    setUp: true,
    prepare: texts && ((text) => texts.register(text)),
  });
}

/** `mariadb://` is spelled `mysql://` for the driver. */
export function mysqlUri(url: string): string {
  try {
    new URL(url);
  } catch {
    throw new ClerkSyncError("invalid_config", "DATABASE_URL is not a valid mysql:// URL");
  }
  return url.replace(/^mariadb:/i, "mysql:");
}

type MysqlModule = typeof import("mysql2");

async function loadDriver(): Promise<MysqlModule> {
  try {
    const mod = (await import("mysql2")) as MysqlModule & { default?: MysqlModule };
    return mod.default ?? mod;
  } catch (cause) {
    throw new ClerkSyncError("invalid_config", "MySQL and MariaDB need the `mysql2` package: npm install mysql2", {
      cause,
    });
  }
}
