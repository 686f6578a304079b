import type { ColumnSpec, TableSpec } from "../core/schema.js";
import { banner, camelCase, modelName } from "./names.js";
import type { OrmDialect } from "./tables.js";

/** A column's Prisma scalar type and native type attribute, as the migrations store it on a dialect. */
function fieldType(spec: ColumnSpec, dialect: OrmDialect): { scalar: string; native?: string } {
  if (spec.type === "text") {
    if (dialect !== "mysql") return { scalar: "String" };
    if (spec.storage === "key") return { scalar: "String", native: "@db.VarChar(255)" };
    return { scalar: "String", native: spec.storage === "longtext" ? "@db.LongText" : "@db.Text" };
  }
  if (spec.storage === "int") return { scalar: "Int" };
  // Times are epoch milliseconds: beyond Prisma's 32-bit Int.
  if (spec.type === "bigint") return { scalar: "BigInt" };
  if (spec.type === "bool") return { scalar: "Boolean" };
  // PostgreSQL: jsonb (Prisma's default there is jsonb too).
  return { scalar: "Json" };
}

const PROVIDERS: Readonly<Record<OrmDialect, string>> = { sqlite: "sqlite", postgres: "postgresql", mysql: "mysql" };

/** The real table names, for `tables.external` in `prisma.config.ts`: the contract's and the migrator's. */
export function prismaExternalTables(tables: readonly TableSpec[], migratorTables: readonly string[]): string[] {
  return [...tables.map((t) => t.name), ...migratorTables];
}

/**
 * The Prisma models of the contract's tables for one dialect: a model per table (`ClerkUser`),
 * camelCase fields `@map`ped to the real columns, `@@map` to the real table, the primary keys
 * and indexes under their real names. No datasource or generator: paste the models into your
 * schema. `external` names the tables for `prisma.config.ts`, so that Prisma Migrate leaves them
 * to clerk-sync's migrations.
 *
 * @example
 * prismaSchema(TABLES, "postgres", ["clerk_sync_migrations"]); // "// clerk-sync's tables …\nmodel ClerkUser {…"
 */
export function prismaSchema(tables: readonly TableSpec[], dialect: OrmDialect, external: readonly string[]): string {
  const models = tables.map((table) => {
    const rows = Object.entries(table.columns).map(([name, spec]) => {
      const { scalar, native } = fieldType(spec, dialect);
      const attributes: string[] = [];
      if (table.primaryKey.length === 1 && table.primaryKey[0] === name) attributes.push("@id");
      if (spec.default !== undefined) attributes.push(`@default(${spec.default})`);
      if (camelCase(name) !== name) attributes.push(`@map("${name}")`);
      if (native !== undefined) attributes.push(native);
      return [camelCase(name), `${scalar}${spec.nullable ? "?" : ""}`, attributes.join(" ")];
    });
    const nameWidth = Math.max(...rows.map((r) => r[0]?.length ?? 0));
    const typeWidth = Math.max(...rows.map((r) => r[1]?.length ?? 0));
    const lines = rows.map(([field = "", type = "", attrs = ""]) =>
      `  ${field.padEnd(nameWidth)} ${attrs === "" ? type : `${type.padEnd(typeWidth)} ${attrs}`}`.trimEnd(),
    );
    const blockLines: string[] = [];
    if (table.primaryKey.length > 1) {
      blockLines.push(`  @@id([${table.primaryKey.map(camelCase).join(", ")}])`);
    }
    for (const index of table.indexes) {
      const kind = index.unique ? "@@unique" : "@@index";
      blockLines.push(`  ${kind}([${index.columns.map(camelCase).join(", ")}], map: "${index.name}")`);
    }
    blockLines.push(`  @@map("${table.name}")`);
    return `model ${modelName(table.name)} {\n${lines.join("\n")}\n\n${blockLines.join("\n")}\n}`;
  });
  const config = [
    "// Prisma Migrate must leave these tables to clerk-sync's migrations (`clerk-sync migrate`): declare",
    "// them external in prisma.config.ts (Prisma 6.13+, a Preview feature):",
    "//",
    "//   experimental: { externalTables: true },",
    "//   tables: {",
    "//     external: [",
    ...external.map((name) => `//       "${name}",`),
    "//     ],",
    "//   },",
    `//`,
    `// Provider: ${PROVIDERS[dialect]}. Times are epoch milliseconds (BigInt); JSON columns are Json.`,
  ];
  return `${[`${banner("//", "clerk-sync's tables for Prisma.")}\n//\n${config.join("\n")}`, ...models].join("\n\n")}\n`;
}

/** The datasource block a Prisma schema of this dialect needs (for a standalone file, or `prisma validate`). */
export function prismaDatasource(dialect: OrmDialect): string {
  return `datasource db {\n  provider = "${PROVIDERS[dialect]}"\n}\n`;
}
