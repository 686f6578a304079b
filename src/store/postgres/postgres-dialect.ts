import { encodeValue, errorField, type NetworkDialectSpec, ON_CONFLICT_SYNTAX, type StorageType } from "../dialect.js";
import { postgresColumnArrays } from "./column-arrays.js";

/** deadlock_detected, serialization_failure, lock_not_available (lock_timeout). */
const TRANSIENT = new Set(["40P01", "40001", "55P03"]);

/**
 * SQLSTATEs of content the database refuses, the same on every attempt: class 22 (data
 * exceptions: NUL in text 22021, `\u0000` in jsonb 22P05, invalid JSON such as an unpaired
 * surrogate 22P02, numeric out of range 22003, value too long 22001), 54000 (an index row too
 * large: a key over ~2.7 KB), 54001 (JSON nested deeper than the server's stack), 23502 (NOT
 * NULL) and 23514 (CHECK). A unique violation (23505) is not among them: it is another
 * receiver's concurrent insert, and a retry finds the row.
 */
function refused(code: string): boolean {
  return code.startsWith("22") || code === "54000" || code === "54001" || code === "23502" || code === "23514";
}

/** One statement of several writes: all but the primary query as data-modifying `WITH` queries. */
function combineWrites(writes: readonly string[], primary?: string): string {
  const parts = [...writes];
  const last = primary ?? (parts.pop() as string);
  if (parts.length === 0) return last;
  return `WITH ${parts.map((text, i) => `w${i} AS (${text})`).join(", ")} ${last}`;
}

const lockTimeout = (ms: number) => `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ms))}`;

const columnType = (type: StorageType): string =>
  ({
    text: "text",
    key: "text",
    longtext: "text",
    bigint: "bigint",
    int: "integer",
    bool: "boolean",
    json: "jsonb",
  })[type];

export const POSTGRES: NetworkDialectSpec = {
  name: "postgres",
  types: {
    columnType,
    encode: (type, value) => encodeValue(type, value, false),
    parsesJson: true,
    nativeBoolean: true,
    tableOptions: undefined,
  },
  syntax: {
    ...ON_CONFLICT_SYNTAX,
    placeholder: (n) => `$${n}`,
    greatest: "greatest",
    lockRows: " FOR UPDATE",
    locksInSubqueries: true,
    combineWrites,
    maxBinds: 65_535,
    columnArrays: postgresColumnArrays(columnType),
  },
  session: {
    currentSchemaQuery: "select current_schema() as schema",
    lockTimeout,
    // lock_timeout stays per transaction (SET LOCAL): a session-wide one would also bound the
    // waits of migrations and of the application's own queries on a shared pool.
    sessionSetup: () => [],
    begin: (ms, setUp) => {
      const statements = ["BEGIN ISOLATION LEVEL READ COMMITTED", lockTimeout(ms)];
      return setUp ? [statements.join("; ")] : statements;
    },
    lockTimeoutQuery: (ms) => `SELECT set_config('lock_timeout', '${Math.max(1, Math.round(ms))}', true)`,
  },
  isTransient: (error) => TRANSIENT.has(errorField(error, "code") as string),
  classify(error) {
    const code = errorField(error, "code");
    // A SQLSTATE is five characters; node's own codes (ECONNREFUSED, …) are the server unreachable.
    if (typeof code !== "string") return "unknown";
    if (TRANSIENT.has(code)) return "transient";
    if (/^[0-9A-Z]{5}$/.test(code) && refused(code)) return "refused";
    return "unavailable";
  },
};
