import type { ColumnSpec, TableSpec } from "../core/schema.js";
import { banner, camelCase } from "./names.js";
import type { OrmDialect } from "./tables.js";

/** Drizzle's module, table function and column builders for one dialect. */
interface DrizzleDialect {
  readonly module: string;
  readonly tableFunction: string;
  /** The column builder call for a column (`text("name")`), and the imports it needs. */
  column(name: string, spec: ColumnSpec): { call: string; imports: readonly string[] };
  /** Declarations the columns share (MySQL's JSON column), placed after the imports. */
  readonly preamble?: string;
}

const SQLITE: DrizzleDialect = {
  module: "drizzle-orm/sqlite-core",
  tableFunction: "sqliteTable",
  column(name, spec) {
    if (spec.type === "text") return { call: `text("${name}")`, imports: ["text"] };
    if (spec.type === "bigint") return { call: `integer("${name}", { mode: "number" })`, imports: ["integer"] };
    if (spec.type === "bool") return { call: `integer("${name}", { mode: "boolean" })`, imports: ["integer"] };
    return { call: `text("${name}", { mode: "json" })`, imports: ["text"] };
  },
};

const POSTGRES: DrizzleDialect = {
  module: "drizzle-orm/pg-core",
  tableFunction: "pgTable",
  column(name, spec) {
    if (spec.type === "text") return { call: `text("${name}")`, imports: ["text"] };
    if (spec.storage === "int") return { call: `integer("${name}")`, imports: ["integer"] };
    if (spec.type === "bigint") return { call: `bigint("${name}", { mode: "number" })`, imports: ["bigint"] };
    if (spec.type === "bool") return { call: `boolean("${name}")`, imports: ["boolean"] };
    return { call: `jsonb("${name}")`, imports: ["jsonb"] };
  },
};

const MYSQL: DrizzleDialect = {
  module: "drizzle-orm/mysql-core",
  tableFunction: "mysqlTable",
  column(name, spec) {
    if (spec.storage === "key") return { call: `varchar("${name}", { length: 255 })`, imports: ["varchar"] };
    if (spec.storage === "longtext") return { call: `longtext("${name}")`, imports: ["longtext"] };
    if (spec.type === "text") return { call: `text("${name}")`, imports: ["text"] };
    if (spec.storage === "int") return { call: `int("${name}")`, imports: ["int"] };
    if (spec.type === "bigint") return { call: `bigint("${name}", { mode: "number" })`, imports: ["bigint"] };
    if (spec.type === "bool") return { call: `boolean("${name}")`, imports: ["boolean"] };
    return { call: `json("${name}")`, imports: ["customType"] };
  },
  // MariaDB's JSON is LONGTEXT, so mysql2 hands it back as text there (parsed on MySQL): one
  // shape on both, parsed.
  preamble: [
    "/** JSON that comes back parsed on MySQL and on MariaDB (where JSON is LONGTEXT and arrives as text). */",
    "const json = customType<{ data: unknown; driverData: unknown }>({",
    '  dataType: () => "json",',
    "  toDriver: (value) => JSON.stringify(value),",
    '  fromDriver: (value) => (typeof value === "string" ? JSON.parse(value) : value),',
    "});",
  ].join("\n"),
};

const DIALECTS: Readonly<Record<OrmDialect, DrizzleDialect>> = { sqlite: SQLITE, postgres: POSTGRES, mysql: MYSQL };

/** A column's whole builder chain: type, then not null, default, primary key. */
function columnChain(d: DrizzleDialect, name: string, spec: ColumnSpec, table: TableSpec) {
  const { call, imports } = d.column(name, spec);
  let chain = call;
  const soleKey = table.primaryKey.length === 1 && table.primaryKey[0] === name;
  if (soleKey) chain += ".primaryKey()";
  else if (!spec.nullable) chain += ".notNull()";
  if (spec.default !== undefined) chain += `.default(${spec.default})`;
  return { chain, imports };
}

/**
 * The Drizzle schema of the contract's tables for one dialect: one exported table per table
 * (`clerkUsers`), camelCase properties on the real snake_case columns, the primary keys and the
 * secondary indexes under their real names.
 *
 * @example
 * drizzleSchema(TABLES, "postgres"); // 'import { bigint, … } from "drizzle-orm/pg-core";\n…'
 */
export function drizzleSchema(tables: readonly TableSpec[], dialect: OrmDialect): string {
  const d = DIALECTS[dialect];
  const imports = new Set<string>([d.tableFunction]);
  const blocks = tables.map((table) => {
    const lines = Object.entries(table.columns).map(([name, spec]) => {
      const { chain, imports: needed } = columnChain(d, name, spec, table);
      for (const i of needed) imports.add(i);
      return `    ${camelCase(name)}: ${chain},`;
    });
    const extras: string[] = [];
    if (table.primaryKey.length > 1) {
      imports.add("primaryKey");
      extras.push(`    primaryKey({ columns: [${table.primaryKey.map((c) => `t.${camelCase(c)}`).join(", ")}] }),`);
    }
    for (const index of table.indexes) {
      const fn = index.unique ? "uniqueIndex" : "index";
      imports.add(fn);
      extras.push(`    ${fn}("${index.name}").on(${index.columns.map((c) => `t.${camelCase(c)}`).join(", ")}),`);
    }
    const third = extras.length === 0 ? "" : `,\n  (t) => [\n${extras.join("\n")}\n  ]`;
    return `export const ${camelCase(table.name)} = ${d.tableFunction}(\n  "${table.name}",\n  {\n${lines.join("\n")}\n  }${third},\n);`;
  });
  const head = [
    banner("//", `clerk-sync's tables for Drizzle (${d.tableFunction}).`),
    `import { ${[...imports].sort().join(", ")} } from "${d.module}";`,
    ...(d.preamble === undefined ? [] : [d.preamble]),
  ];
  return `${[...head, ...blocks].join("\n\n")}\n`;
}
