import type { ColumnType } from "../core/schema.js";

/** The databases clerk-sync supports. */
export type DialectName = "sqlite" | "postgres" | "mysql";

/**
 * Everything that differs between databases lives here: column types, value encoding and the
 * few SQL shapes the write path needs. The rest of the code asks this module, never `if (mysql)`.
 */
export interface DialectSpec {
  readonly name: DialectName;
  /** SQL type for a logical column type; `key` for columns in a primary key or index. */
  columnType(type: ColumnType | "key" | "longtext" | "int"): string;
  /** Encodes a JS value for a column of the given logical type. */
  encode(type: ColumnType, value: unknown): unknown;
  /** `GREATEST`-style function name for the larger of two values. */
  readonly greatest: string;
  /** Whether JSON columns come back parsed from the driver. */
  readonly parsesJson: boolean;
  /** Whether booleans come back as booleans (not 0/1). */
  readonly nativeBoolean: boolean;
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
};

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
};

export const MYSQL: DialectSpec = {
  name: "mysql",
  columnType: (type) =>
    ({
      text: "text",
      key: "varchar(191)",
      longtext: "longtext",
      bigint: "bigint",
      int: "int",
      bool: "boolean",
      json: "json",
    })[type],
  encode: (type, value) => encodeCommon(type, value, true),
  greatest: "greatest",
  parsesJson: true,
  nativeBoolean: false,
};

export const DIALECTS: Readonly<Record<DialectName, DialectSpec>> = {
  sqlite: SQLITE,
  postgres: POSTGRES,
  mysql: MYSQL,
};
