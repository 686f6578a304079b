import type { ColumnArrays, StorageType } from "../dialect.js";

/** What PostgreSQL's array input escapes inside a quoted element. */
const ARRAY_SPECIAL = /[\\"]/g;

/**
 * `values` as an array literal (`{"a","b",NULL}`): every element quoted, `\` and `"` escaped.
 * Built here rather than by node-postgres, whose element-by-element escaping costs a page of
 * users several times as much.
 */
export function arrayLiteral(values: readonly unknown[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    parts[i] = value === null || value === undefined ? "NULL" : `"${String(value).replace(ARRAY_SPECIAL, "\\$&")}"`;
  }
  return `{${parts.join(",")}}`;
}

/**
 * PostgreSQL's rows as column arrays: `unnest($1::text[])` for each column, but JSON columns,
 * whose values are JSON texts already: those go as one JSON array (`[v1,v2,…]`, no escaping at
 * all) read by `jsonb_array_elements`, whose JSON `null` is read back as SQL NULL (what
 * `encodeValue` makes of an absent value).
 */
export function postgresColumnArrays(columnType: (type: StorageType) => string): ColumnArrays {
  return {
    source: (type, placeholder) =>
      type === "json" ? `jsonb_array_elements(${placeholder}::jsonb)` : `unnest(${placeholder}::${columnType(type)}[])`,
    read: (type, name) => (type === "json" ? `NULLIF(${name}, 'null'::jsonb)` : name),
    bind: (type, values) =>
      type === "json"
        ? `[${values.map((v) => (v === null || v === undefined ? "null" : String(v))).join(",")}]`
        : arrayLiteral(values),
  };
}
