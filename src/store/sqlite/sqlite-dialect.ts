import { type DialectSpec, encodeValue, errorField, ON_CONFLICT_SYNTAX } from "../dialect.js";

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
  },
  isTransient: (error) => errorField(error, "code") === "SQLITE_BUSY",
};
