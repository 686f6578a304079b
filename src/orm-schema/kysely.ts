import type { ColumnSpec, TableSpec } from "../core/schema.js";
import { banner, pascalCase } from "./names.js";

/** A column's Kysely type, as `store/schema/database.ts` derives it from the same spec. */
function columnType(spec: ColumnSpec): string {
  if (spec.generated) return spec.type === "bigint" ? "Generated<number>" : `Generated<${valueType(spec)}>`;
  const value = valueType(spec);
  return spec.nullable && spec.type !== "json" ? `${value} | null` : value;
}

function valueType(spec: ColumnSpec): string {
  return { text: "string", bigint: "Millis", bool: "Bool", json: "Json" }[spec.type];
}

/**
 * The Kysely database type of the contract's tables as a standalone file (nothing to import
 * from clerk-sync): the same types `ClerkSyncDatabase` derives (`store/schema/database.ts`).
 *
 * @example
 * kyselySchema(TABLES); // 'import type { ColumnType, Generated } from "kysely";\n…'
 */
export function kyselySchema(tables: readonly TableSpec[]): string {
  const interfaces = tables.map((table) => {
    const lines = Object.entries(table.columns).map(([name, spec]) => `  ${name}: ${columnType(spec)};`);
    return `export interface ${pascalCase(table.name)}Table {\n${lines.join("\n")}\n}`;
  });
  const database = tables.map((table) => `  ${table.name}: ${pascalCase(table.name)}Table;`);
  return `${[
    banner(
      "//",
      "clerk-sync's tables for Kysely: `new Kysely<ClerkSyncDatabase>(…)`, or merge it into your own database type.",
    ),
    'import type { ColumnType, Generated } from "kysely";',
    [
      "/** JSON columns: parsed on PostgreSQL, text on SQLite and MySQL/MariaDB (see clerk-sync's docs/databases.md). */",
      "export type Json = unknown;",
      "/** Booleans: `true`/`false` on PostgreSQL, 0/1 on SQLite and MySQL/MariaDB. */",
      "export type Bool = boolean | number;",
      "/** Times (epoch milliseconds), versions and counts. */",
      "export type Millis = ColumnType<number, number, number>;",
    ].join("\n"),
    `export interface ClerkSyncDatabase {\n${database.join("\n")}\n}`,
    ...interfaces,
  ].join("\n\n")}\n`;
}
