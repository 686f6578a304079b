import { type DialectSpec, encodeValue, errorField, ON_CONFLICT_SYNTAX } from "../dialect.js";

/**
 * better-sqlite3's extended result codes for content SQLite refuses, the same on every attempt:
 * a string or blob over SQLITE_MAX_LENGTH, a NOT NULL or CHECK constraint, a datatype
 * mismatch. Every other `SQLITE_*` code (SQLITE_FULL, SQLITE_IOERR_*, SQLITE_READONLY_*,
 * SQLITE_CANTOPEN, SQLITE_CORRUPT, SQLITE_BUSY past its wait, "no such table", …) is the
 * database's own failure.
 */
const REFUSED = new Set(["SQLITE_TOOBIG", "SQLITE_CONSTRAINT_NOTNULL", "SQLITE_CONSTRAINT_CHECK", "SQLITE_MISMATCH"]);

/** SQLite: one writer at a time (BEGIN IMMEDIATE takes the database's write lock). */
export const SQLITE: DialectSpec = {
  name: "sqlite",
  types: {
    columnType: (type) =>
      ({
        text: "text",
        key: "text",
        longtext: "text",
        bigint: "integer",
        int: "integer",
        bool: "integer",
        json: "text",
      })[type],
    encode: (type, value) => encodeValue(type, value, true),
    parsesJson: false,
    nativeBoolean: false,
    tableOptions: undefined,
  },
  syntax: {
    ...ON_CONFLICT_SYNTAX,
    placeholder: () => "?",
    greatest: "max",
    // BEGIN IMMEDIATE takes SQLite's write lock: rows need no locks of their own.
    lockRows: "",
    locksInSubqueries: true,
    combineWrites: undefined,
    maxBinds: 32_766,
    columnArrays: undefined,
  },
  isTransient: (error) => errorField(error, "code") === "SQLITE_BUSY",
  classify(error) {
    const code = errorField(error, "code");
    if (typeof code !== "string" || !code.startsWith("SQLITE_")) return "unknown";
    if (code === "SQLITE_BUSY") return "transient";
    return REFUSED.has(code) ? "refused" : "unavailable";
  },
};
