import type { ColumnType } from "../core/schema.js";

/** The databases clerk-sync supports (MariaDB is `mysql`). */
export type DialectName = "sqlite" | "postgres" | "mysql";

/**
 * Everything that differs between databases lives here: column types, value encoding, the SQL
 * shapes the write path needs (upserts, row locks, bind parameters) and which errors are
 * transient. The rest of the code asks this module, never `if (mysql)`.
 */
export interface DialectSpec {
  readonly name: DialectName;
  /** SQL type for a logical column type; `key` for columns in a primary key or index. */
  columnType(type: ColumnType | "key" | "longtext" | "int"): string;
  /** Encodes a JS value for a column of the given logical type. */
  encode(type: ColumnType, value: unknown): unknown;
  /** `GREATEST`-style function name for the larger of two values. */
  readonly greatest: string;
  /**
   * Whether JSON columns always come back parsed from the driver. False on MySQL/MariaDB:
   * MariaDB's JSON is LONGTEXT, and the pools clerk-sync opens return MySQL's JSON as text too.
   */
  readonly parsesJson: boolean;
  /** Whether booleans come back as booleans (not 0/1). */
  readonly nativeBoolean: boolean;
  /** Appended to every `CREATE TABLE` of the migrations, if any. */
  readonly tableOptions: string | undefined;
  /** A query answering the schema unqualified tables go to (`schema` column), if the dialect has schemas. */
  readonly currentSchemaQuery: string | undefined;
  /** Quotes an identifier. */
  quote(identifier: string): string;
  /** The n-th (1-based) bind parameter. */
  placeholder(n: number): string;
  /** Suffix of an `INSERT` that, on a conflict on `key`, applies `assignments` to the stored row. */
  onConflictUpdate(key: string, assignments: readonly string[]): string;
  /**
   * Suffix of an `INSERT` that keeps the stored row on a conflict on `key`. A conflicting row
   * inserted by a transaction still in progress makes the statement wait for that transaction.
   */
  onConflictKeep(key: string): string;
  /** In an upsert's assignments: the value the `INSERT` proposed for `column`. */
  incoming(column: string): string;
  /** In an upsert's assignments: the stored value of `column`. */
  stored(table: string, column: string): string;
  /**
   * `RETURNING` clause for `columns`, or undefined where an upsert cannot return the row (MySQL).
   * Where it can, an upsert with a no-op update both locks the stored row and reads it.
   */
  returning(columns: readonly string[]): string | undefined;
  /** Suffix of a `SELECT` that locks the rows it reads ("" where a transaction locks the whole database). */
  readonly lockRows: string;
  /**
   * Whether a locking `SELECT` may stand in a subquery (`FROM (SELECT … FOR UPDATE)`), so that
   * one statement locks the rows of several tables. PostgreSQL documents it; for MySQL, where
   * derived tables may be materialized or merged, each table is read by a statement of its own.
   */
  readonly locksInSubqueries: boolean;
  /** A statement bounding lock waits in the transaction about to start, if the dialect has one. */
  lockTimeout(ms: number): string | undefined;
  /** Statements run once on each new connection of a pool clerk-sync opens (see `begin`). */
  sessionSetup(lockTimeoutMs: number): readonly string[];
  /**
   * The statements, one round trip each, that open a READ COMMITTED transaction whose lock waits
   * end after `lockTimeoutMs`. `setUp`: the connection comes from a pool clerk-sync opened, so
   * its driver is known (`pg` runs the statements of one parameterless query together) and it
   * ran `sessionSetup`.
   */
  begin(lockTimeoutMs: number, setUp: boolean): readonly string[];
  /**
   * Whether one statement may hold several writes to distinct rows (PostgreSQL's data-modifying
   * `WITH` queries): the set-based batch then sends its writes as one statement.
   */
  readonly combinesWrites: boolean;
  /**
   * The primary query of a combined write (see `combinesWrites`) run outside a transaction: it
   * bounds the statement's lock waits to `ms`. PostgreSQL runs a `WITH` statement's primary query
   * first, then the data-modifying sub-statements it does not read, each to completion, so the
   * bound is in place before any row lock is awaited (were that order to change, the waits would
   * only be unbounded; the effect is the same).
   */
  lockTimeoutQuery(ms: number): string | undefined;
  /** The most bind parameters one statement may carry. */
  readonly maxBinds: number;
  /**
   * Whether an error means the transaction lost a race (deadlock, serialization failure, lock
   * wait timeout) and the whole transaction may succeed if run again.
   */
  isTransient(error: unknown): boolean;
}

function encodeCommon(type: ColumnType, value: unknown, booleanAsInt: boolean): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case "json":
      return JSON.stringify(value);
    case "bool":
      return booleanAsInt ? (value ? 1 : 0) : Boolean(value);
    default:
      return value;
  }
}

const doubleQuote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** The `ON CONFLICT … excluded` family: SQLite and PostgreSQL. */
const onConflictShapes = {
  quote: doubleQuote,
  onConflictUpdate: (key: string, assignments: readonly string[]) =>
    `ON CONFLICT (${doubleQuote(key)}) DO UPDATE SET ${assignments.join(", ")}`,
  onConflictKeep: (key: string) => `ON CONFLICT (${doubleQuote(key)}) DO NOTHING`,
  incoming: (column: string) => `excluded.${doubleQuote(column)}`,
  stored: (table: string, column: string) => `${doubleQuote(table)}.${doubleQuote(column)}`,
  returning: (columns: readonly string[]) => `RETURNING ${columns.map(doubleQuote).join(", ")}`,
};

function errorField(error: unknown, field: "code" | "errno"): unknown {
  return typeof error === "object" && error !== null ? (error as Record<string, unknown>)[field] : undefined;
}

export const SQLITE: DialectSpec = {
  name: "sqlite",
  columnType: (type) =>
    ({ text: "text", key: "text", longtext: "text", bigint: "integer", int: "integer", bool: "integer", json: "text" })[
      type
    ],
  encode: (type, value) => encodeCommon(type, value, true),
  greatest: "max",
  parsesJson: false,
  nativeBoolean: false,
  tableOptions: undefined,
  currentSchemaQuery: undefined,
  ...onConflictShapes,
  placeholder: () => "?",
  // BEGIN IMMEDIATE takes the database's write lock: rows need no locks of their own.
  lockRows: "",
  locksInSubqueries: true,
  lockTimeout: () => undefined,
  sessionSetup: () => [],
  begin: () => ["BEGIN IMMEDIATE"],
  combinesWrites: false,
  lockTimeoutQuery: () => undefined,
  maxBinds: 32_766,
  isTransient: (error) => errorField(error, "code") === "SQLITE_BUSY",
};

/** deadlock_detected, serialization_failure, lock_not_available (lock_timeout). */
const POSTGRES_TRANSIENT = new Set(["40P01", "40001", "55P03"]);

export const POSTGRES: DialectSpec = {
  name: "postgres",
  columnType: (type) =>
    ({ text: "text", key: "text", longtext: "text", bigint: "bigint", int: "integer", bool: "boolean", json: "jsonb" })[
      type
    ],
  encode: (type, value) => encodeCommon(type, value, false),
  greatest: "greatest",
  parsesJson: true,
  nativeBoolean: true,
  tableOptions: undefined,
  currentSchemaQuery: "select current_schema() as schema",
  ...onConflictShapes,
  placeholder: (n) => `$${n}`,
  lockRows: " FOR UPDATE",
  locksInSubqueries: true,
  lockTimeout: (ms) => `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ms))}`,
  // lock_timeout stays per transaction (SET LOCAL): a session-wide one would also bound the
  // waits of migrations and of the application's own queries on a shared pool.
  sessionSetup: () => [],
  begin: (ms, setUp) => {
    const statements = ["BEGIN ISOLATION LEVEL READ COMMITTED", POSTGRES.lockTimeout(ms) as string];
    return setUp ? [statements.join("; ")] : statements;
  },
  combinesWrites: true,
  lockTimeoutQuery: (ms) => `SELECT set_config('lock_timeout', '${Math.max(1, Math.round(ms))}', true)`,
  maxBinds: 65_535,
  isTransient: (error) => POSTGRES_TRANSIENT.has(errorField(error, "code") as string),
};

/** ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, ER_CHECKREAD (MariaDB's snapshot isolation). */
const MYSQL_TRANSIENT = new Set([1213, 1205, 1020]);
const backtick = (identifier: string) => `\`${identifier.replaceAll("`", "``")}\``;

export const MYSQL: DialectSpec = {
  name: "mysql",
  columnType: (type) =>
    ({
      text: "text",
      // 255, not 191: an email address can be 254 characters. Indexes over 767 bytes need
      // InnoDB's DYNAMIC rows (the default since MySQL 5.7.7 / MariaDB 10.2.2), as Kysely's own
      // migration table does.
      key: "varchar(255)",
      longtext: "longtext",
      bigint: "bigint",
      int: "integer",
      bool: "boolean",
      json: "json",
    })[type],
  encode: (type, value) => encodeCommon(type, value, true),
  greatest: "greatest",
  parsesJson: false,
  nativeBoolean: false,
  // utf8mb4_bin: Clerk ids are case-sensitive (user_abc ≠ user_ABC), as in PostgreSQL and SQLite.
  tableOptions: "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
  currentSchemaQuery: undefined,
  quote: backtick,
  placeholder: () => "?",
  onConflictUpdate: (_key, assignments) => `ON DUPLICATE KEY UPDATE ${assignments.join(", ")}`,
  // A no-op update rather than INSERT IGNORE: it takes an exclusive lock on the stored row (no
  // shared lock to upgrade later, so no deadlock between two claimers), and IGNORE would also
  // silence errors such as a value too long for its column.
  onConflictKeep: (key) => `ON DUPLICATE KEY UPDATE ${backtick(key)} = ${backtick(key)}`,
  // MySQL 8.0.20 deprecates VALUES() here in favour of a row alias MariaDB does not have.
  incoming: (column) => `VALUES(${backtick(column)})`,
  stored: (_table, column) => backtick(column),
  returning: () => undefined,
  lockRows: " FOR UPDATE",
  locksInSubqueries: false,
  lockTimeout: (ms) => `SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.ceil(ms / 1000))}`,
  sessionSetup: (ms) => ["SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", MYSQL.lockTimeout(ms) as string],
  begin: (ms, setUp) =>
    setUp
      ? ["START TRANSACTION"]
      : ["SET TRANSACTION ISOLATION LEVEL READ COMMITTED", MYSQL.lockTimeout(ms) as string, "START TRANSACTION"],
  combinesWrites: false,
  lockTimeoutQuery: () => undefined,
  // mysql2 interpolates the values into the text: no protocol limit, but the packet's (16 MiB by default).
  maxBinds: 65_535,
  isTransient: (error) => MYSQL_TRANSIENT.has(errorField(error, "errno") as number),
};

export const DIALECTS: Readonly<Record<DialectName, DialectSpec>> = {
  sqlite: SQLITE,
  postgres: POSTGRES,
  mysql: MYSQL,
};
