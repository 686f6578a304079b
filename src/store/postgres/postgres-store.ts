import { Kysely, PostgresDialect, type PostgresPool } from "kysely";
import { ClerkSyncError } from "../../core/errors.js";
import type { ClerkSyncDatabase } from "../schema/database.js";
import { PreparedTexts, takePreparedStatementsParam } from "../sql/prepared-statements.js";
import { checkOneSource, createKyselyStore } from "../sql/sql-store.js";
import type { ClerkSyncStore } from "../store.js";
import { POSTGRES } from "./postgres-dialect.js";
import { PreparingPostgresDialect } from "./postgres-driver.js";

/** Give exactly one of `url`, `pool` or `kysely`. */
export interface PostgresStoreOptions {
  /**
   * A `postgres://` / `postgresql://` URL (what `pg` accepts, e.g. `?sslmode=require`), plus
   * `?schema=name` for the tables' schema. clerk-sync opens the pool and closes it on `close()`.
   */
  url?: string;
  /** Your own `pg.Pool` (or anything with `connect()`); `close()` leaves it open. */
  pool?: PostgresPool;
  /** Your own Kysely instance on PostgreSQL; `close()` leaves it open. */
  kysely?: Kysely<unknown> | Kysely<ClerkSyncDatabase>;
  /**
   * The schema of clerk-sync's tables, set as the connections' `search_path` (with `url` only;
   * created by `migrate()` if missing). Default: the server's (usually `public`).
   */
  schema?: string;
  /** Connections in the pool clerk-sync opens. Default 10. */
  poolSize?: number;
  /**
   * Batches of deliveries under way at once, each in its own transaction on its own connection.
   * Default 4 (at most `poolSize - 1`, leaving a connection for queries).
   */
  maxConcurrentBatches?: number;
  /** Longest wait for a row locked by another receiver, in ms (then 503). Default 5000. */
  lockTimeoutMs?: number;
  /**
   * Send the statements of set-based batches as prepared statements (with `url` only): the
   * server parses and plans each batch shape once per connection. Turn off behind a pooler
   * that does not carry prepared statements across its server connections (PgBouncer in
   * transaction mode before 1.21, or without `max_prepared_statements`). Also
   * `?prepared_statements=false` in the URL. Default true.
   */
  preparedStatements?: boolean;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * The PostgreSQL store. `pg` is loaded on first use, so SQLite users need not install it.
 * Several receivers may share one database: the delivery key and row locks keep them apart.
 *
 * @example
 * const store = await openPostgresStore({ url: process.env.DATABASE_URL });
 * const mine = await openPostgresStore({ pool: new pg.Pool({ connectionString }) });
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<ClerkSyncStore> {
  checkOneSource("openPostgresStore", options);
  const common = {
    dialect: POSTGRES,
    lockTimeoutMs: options.lockTimeoutMs,
    maxConcurrentBatches: options.maxConcurrentBatches,
  };
  if (options.kysely) {
    if (options.schema !== undefined) throw schemaNeedsUrl();
    return createKyselyStore({ ...common, kysely: options.kysely as Kysely<ClerkSyncDatabase>, owned: false });
  }
  if (options.pool) {
    if (options.schema !== undefined) throw schemaNeedsUrl();
    const pool = options.pool;
    // Kysely ends its pool on destroy(); this one is the caller's.
    const borrowed: PostgresPool = { connect: () => pool.connect(), end: async () => {} };
    const kysely = new Kysely<ClerkSyncDatabase>({ dialect: new PostgresDialect({ pool: borrowed }) });
    return createKyselyStore({ ...common, kysely, owned: true });
  }
  const { connectionString, schema, preparedStatements } = postgresConnection(options.url as string, options.schema);
  const pg = await loadDriver();
  const poolSize = options.poolSize ?? 10;
  const int8 = pg.types.builtins.INT8;
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    connectionTimeoutMillis: 5000,
    application_name: "clerk-sync",
    // Times are epoch ms: bigint columns come back as numbers (strings only beyond 2^53).
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === int8 ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // An idle connection that the server drops emits "error"; without a listener the process exits.
  pool.on("error", () => {});
  // The set-based batches' statements go prepared on the connections of this pool.
  const texts = (options.preparedStatements ?? preparedStatements ?? true) ? new PreparedTexts() : undefined;
  const dialect = texts ? new PreparingPostgresDialect({ pool, texts }) : new PostgresDialect({ pool });
  const kysely = new Kysely<ClerkSyncDatabase>({ dialect });
  const concurrent = options.maxConcurrentBatches ?? Math.max(1, Math.min(4, poolSize - 1));
  return createKyselyStore({
    ...common,
    kysely,
    owned: true,
    schema,
    maxConcurrentBatches: concurrent,
    setUp: true,
    prepare: texts && ((text) => texts.register(text)),
  });
}

function parseInt8(value: string): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value;
}

function schemaNeedsUrl(): ClerkSyncError {
  return new ClerkSyncError(
    "invalid_config",
    "openPostgresStore: `schema` applies to the pool clerk-sync opens from `url`; set search_path on your own pool",
  );
}

/**
 * The connection string for `pg`: clerk-sync's `?schema=` (or the `schema` option) becomes
 * `-c search_path=…` in the URL's `options` parameter, kept with any options already there;
 * clerk-sync's `?prepared_statements=` is taken out and answered apart.
 */
export function postgresConnection(
  url: string,
  schemaOption?: string,
): { connectionString: string; schema: string | undefined; preparedStatements: boolean | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClerkSyncError("invalid_config", "DATABASE_URL is not a valid postgres:// URL");
  }
  const preparedStatements = takePreparedStatementsParam(parsed);
  const schema = schemaOption ?? parsed.searchParams.get("schema") ?? undefined;
  if (schema === undefined) {
    return { connectionString: preparedStatements === undefined ? url : parsed.toString(), schema, preparedStatements };
  }
  if (!SCHEMA_NAME.test(schema)) {
    throw new ClerkSyncError("invalid_config", `PostgreSQL schema "${schema}" must be letters, digits and _`);
  }
  parsed.searchParams.delete("schema");
  const options = [parsed.searchParams.get("options"), `-c search_path=${schema}`].filter(Boolean).join(" ");
  parsed.searchParams.set("options", options);
  return { connectionString: parsed.toString(), schema, preparedStatements };
}

type PgModule = typeof import("pg");

async function loadDriver(): Promise<PgModule> {
  try {
    const mod = (await import("pg")) as PgModule & { default?: PgModule };
    return mod.default ?? mod;
  } catch (cause) {
    throw new ClerkSyncError("invalid_config", "PostgreSQL needs the `pg` package: npm install pg", { cause });
  }
}
