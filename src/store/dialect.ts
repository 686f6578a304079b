import { ClerkSyncError, describeError, isClerkSyncError } from "../core/errors.js";
import type { ColumnType } from "../core/schema.js";

/** The databases clerk-sync supports (MariaDB is `mysql`). */
export type DialectName = "sqlite" | "postgres" | "mysql";

/** A logical column type, or one of the storage variants the migrations use. */
export type StorageType = ColumnType | "key" | "longtext" | "int";

/** How the table contract's logical types are stored and come back. Used by migrations, writes and queries. */
export interface DialectTypes {
  /** SQL type for a logical column type; `key` for columns in a primary key or index. */
  columnType(type: StorageType): string;
  /** Encodes a JS value for a column of the given logical type. */
  encode(type: ColumnType, value: unknown): unknown;
  /**
   * Whether JSON columns always come back parsed from the driver. False on MySQL/MariaDB:
   * MariaDB's JSON is LONGTEXT, and the pools clerk-sync opens return MySQL's JSON as text too.
   */
  readonly parsesJson: boolean;
  /** Whether booleans come back as booleans (not 0/1). */
  readonly nativeBoolean: boolean;
  /** Appended to every `CREATE TABLE` of the migrations, if any. */
  readonly tableOptions: string | undefined;
}

/** The SQL spellings the one write builder (`write/write-sql.ts`) compiles the writes with. */
export interface DialectSyntax {
  /** Quotes an identifier. */
  quote(identifier: string): string;
  /** The n-th (1-based) bind parameter. */
  placeholder(n: number): string;
  /** `GREATEST`-style function name for the larger of two values. */
  readonly greatest: string;
  /** Suffix of an `INSERT` that, on a conflict on `key`, applies `assignments` to the stored row. */
  onConflictUpdate(key: string | readonly string[], assignments: readonly string[]): string;
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
  /**
   * Joins writes to distinct rows into one statement where the dialect can (PostgreSQL's
   * data-modifying `WITH` queries), its primary query `primary` or else the last write; the
   * set-based batch then sends its writes as one statement. Undefined where each write is a
   * statement of its own.
   */
  readonly combineWrites: ((writes: readonly string[], primary?: string) => string) | undefined;
  /** The most bind parameters one statement may carry. */
  readonly maxBinds: number;
  /**
   * Multi-row writes as one bind per column, where the dialect can (PostgreSQL): a page of 500
   * rows is then a short text, parsed and planned in no time, where `VALUES` would carry
   * thousands of placeholders. Undefined where rows go as `VALUES` tuples.
   */
  readonly columnArrays: ColumnArrays | undefined;
}

/** How a dialect takes a multi-row write as one bind per column (see `DialectSyntax.columnArrays`). */
export interface ColumnArrays {
  /** The set-returning function that yields a column of `type` from its bind `placeholder`. */
  source(type: StorageType, placeholder: string): string;
  /** The value of that function's output column `name`, as the table takes it. */
  read(type: StorageType, name: string): string;
  /** The bind value that carries a column's `values` (encoded values, in row order). */
  bind(type: StorageType, values: readonly unknown[]): unknown;
}

/** How a network database's transactions open and bound their lock waits (`sql/sql-store.ts`). */
export interface DialectSession {
  /** A query answering the schema unqualified tables go to (`schema` column), if the dialect has schemas. */
  readonly currentSchemaQuery: string | undefined;
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
   * The primary query of a combined write (see `DialectSyntax.combineWrites`) run outside a
   * transaction: it bounds the statement's lock waits to `ms`. PostgreSQL runs a `WITH`
   * statement's primary query first, then the data-modifying sub-statements it does not read,
   * each to completion, so the bound is in place before any row lock is awaited (were that order
   * to change, the waits would only be unbounded; the effect is the same).
   */
  lockTimeoutQuery(ms: number): string | undefined;
}

/**
 * Everything that differs between databases, by role: how types are stored, how the writes are
 * spelled, how a network database's transactions open, and which errors are lost races. Each
 * dialect's values live in its folder (`sqlite/`, `postgres/`, `mysql/`); the rest of the code
 * asks these, never `if (mysql)`.
 */
export interface DialectSpec {
  readonly name: DialectName;
  readonly types: DialectTypes;
  readonly syntax: DialectSyntax;
  /**
   * Whether an error means the transaction lost a race (deadlock, serialization failure, lock
   * wait timeout, a busy database) and the whole transaction may succeed if run again.
   */
  isTransient(error: unknown): boolean;
  /**
   * What a driver error says, by the driver's codes, in one place per dialect:
   * - `transient`: a lost race (see `isTransient`); run again, then `store_unavailable` (503);
   * - `unavailable`: the database's own failure (connection refused or lost, timeouts, disk
   *   full, read-only, I/O errors, missing tables): `store_unavailable` (503), Svix retries;
   * - `refused`: the database refuses this delivery's content (value too long, text or JSON it
   *   cannot hold, number out of range, index entry too large, a NOT NULL or CHECK
   *   constraint): the same on every attempt, so `unstorable_payload` (422);
   * - `unknown`: not a database error the dialect knows (see {@link storeError}).
   */
  classify(error: unknown): ErrorClass;
}

/** See {@link DialectSpec.classify}. */
export type ErrorClass = "transient" | "unavailable" | "refused" | "unknown";

/** JavaScript's own error types: thrown without a driver code, they are bugs, not the database's failures. */
const PROGRAMMING_ERRORS: readonly (abstract new (...args: never[]) => Error)[] = [
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
];

/**
 * A failure met while writing deliveries, coded for the core: the store calls this on every
 * error before the core sees it. A ClerkSyncError stays as it is; otherwise the dialect's
 * {@link DialectSpec.classify} decides: `refused` → `unstorable_payload` (422) with the
 * database's reason, `transient`/`unavailable` → `store_unavailable` (503); an error the
 * dialect does not know is `internal_error` (500) when it is one of JavaScript's own types
 * without a driver code (a bug in clerk-sync), else `store_unavailable` (a driver's or pool's
 * error without a code, such as a lost connection). The original error stays the `cause`, so
 * `isTransient` still finds a lost race in the cause chain.
 */
export function storeError(dialect: Pick<DialectSpec, "classify">, error: unknown): ClerkSyncError {
  if (isClerkSyncError(error)) return error;
  switch (dialect.classify(error)) {
    case "refused":
      return new ClerkSyncError(
        "unstorable_payload",
        `The database refused the delivery's content; it is not applied and will not be on a retry (${describeError(error)})`,
        { cause: error },
      );
    case "transient":
    case "unavailable":
      return new ClerkSyncError("store_unavailable", "The database failed; the delivery was not applied", {
        cause: error,
      });
    default: {
      const coded = errorField(error, "code") !== undefined || errorField(error, "errno") !== undefined;
      if (!coded && PROGRAMMING_ERRORS.some((type) => error instanceof type)) {
        return new ClerkSyncError(
          "internal_error",
          `Internal error; the delivery was not applied (${describeError(error)})`,
          { cause: error },
        );
      }
      return new ClerkSyncError("store_unavailable", "The database failed; the delivery was not applied", {
        cause: error,
      });
    }
  }
}

/** A dialect of a network database, with its session policy. */
export interface NetworkDialectSpec extends DialectSpec {
  readonly session: DialectSession;
}

/** Encoding shared by the dialects: JSON as text, booleans as 0/1 unless native. */
export function encodeValue(type: ColumnType, value: unknown, booleanAsInt: boolean): unknown {
  if (value === undefined || value === null) return null;
  switch (type) {
    case "text":
      return typeof value === "string" ? storableText(value) : value;
    case "json":
      return jsonText(value);
    case "bool":
      return booleanAsInt ? (value ? 1 : 0) : Boolean(value);
    default:
      return value;
  }
}

/** An unpaired UTF-16 surrogate: a code unit no UTF-8 text can hold. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * `text` itself, if a database's text column can hold it. A string with an unpaired surrogate
 * (JSON allows `"\ud800"`) cannot be encoded as UTF-8: the drivers would write U+FFFD instead,
 * silently. It is refused as `unstorable_payload` (422) on every database. (JSON columns keep
 * it as the escape `\ud800` where the database stores JSON as text: SQLite; PostgreSQL's jsonb
 * and MariaDB's JSON_VALID refuse it.)
 */
export function storableText(text: string): string {
  if (LONE_SURROGATE.test(text)) {
    throw new ClerkSyncError(
      "unstorable_payload",
      "A text value holds an unpaired UTF-16 surrogate (such as \\ud800), which no database text can hold",
    );
  }
  return text;
}

/**
 * `JSON.stringify(value)`, also for values nested deeper than its recursion can go (JSON.parse
 * reads any depth, JSON.stringify overflows the stack at a few thousand levels): past that, the
 * same text is written by a loop. For values JSON.parse produced (no `toJSON`, no `undefined`).
 *
 * @example
 * jsonText(JSON.parse("[".repeat(10_000) + "]".repeat(10_000))); // the same text back
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  const out: string[] = [];
  // Work items: a value to write, or literal text (a closing bracket, a comma, a key).
  const stack: ({ text: string } | { value: unknown })[] = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop() as { text: string } | { value: unknown };
    if ("text" in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (Array.isArray(v)) {
      const items: ({ text: string } | { value: unknown })[] = [{ text: "[" }];
      v.forEach((element, i) => {
        if (i > 0) items.push({ text: "," });
        items.push({ value: element === undefined ? null : element });
      });
      items.push({ text: "]" });
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i] as { text: string } | { value: unknown });
    } else if (typeof v === "object" && v !== null) {
      const items: ({ text: string } | { value: unknown })[] = [{ text: "{" }];
      let first = true;
      for (const [key, member] of Object.entries(v)) {
        if (member === undefined) continue;
        items.push({ text: `${first ? "" : ","}${JSON.stringify(key)}:` }, { value: member });
        first = false;
      }
      items.push({ text: "}" });
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i] as { text: string } | { value: unknown });
    } else {
      out.push(JSON.stringify(v) ?? "null");
    }
  }
  return out.join("");
}

const doubleQuote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/** The `ON CONFLICT … excluded` family's syntax: SQLite and PostgreSQL. */
export const ON_CONFLICT_SYNTAX = {
  quote: doubleQuote,
  onConflictUpdate: (key: string | readonly string[], assignments: readonly string[]) =>
    `ON CONFLICT (${(typeof key === "string" ? [key] : key).map(doubleQuote).join(", ")}) DO UPDATE SET ${assignments.join(", ")}`,
  onConflictKeep: (key: string) => `ON CONFLICT (${doubleQuote(key)}) DO NOTHING`,
  incoming: (column: string) => `excluded.${doubleQuote(column)}`,
  stored: (table: string, column: string) => `${doubleQuote(table)}.${doubleQuote(column)}`,
  returning: (columns: readonly string[]) => `RETURNING ${columns.map(doubleQuote).join(", ")}`,
} as const;

/** A driver error's `code` or `errno`. */
export function errorField(error: unknown, field: "code" | "errno"): unknown {
  return typeof error === "object" && error !== null ? (error as Record<string, unknown>)[field] : undefined;
}
