// The ORM schemas `clerk-sync schema` prints: generated from the table contract, committed under
// test/generated/ (so `npm run typecheck` compiles them against drizzle-orm and kysely), and held
// here to the contract and to the SQL types each dialect's migrations create.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MySqlTable, getTableConfig as mysqlTableConfig } from "drizzle-orm/mysql-core";
import { type PgTable, getTableConfig as pgTableConfig } from "drizzle-orm/pg-core";
import { type SQLiteTable, getTableConfig as sqliteTableConfig } from "drizzle-orm/sqlite-core";
import { describe, expect, expectTypeOf, it } from "vitest";
import { ormSchema } from "../src/cli/commands/schema.js";
import { runCommand } from "../src/cli/main.js";
import { TABLES, type TableSpec } from "../src/core/schema.js";
import type { DialectTypes, StorageType } from "../src/store/dialect.js";
import { MYSQL } from "../src/store/mysql/mysql-dialect.js";
import { POSTGRES } from "../src/store/postgres/postgres-dialect.js";
import type * as Derived from "../src/store/schema/database.js";
import { SQLITE } from "../src/store/sqlite/sqlite-dialect.js";
import * as mysqlSchema from "./generated/drizzle-mysql.js";
import * as postgresSchema from "./generated/drizzle-postgres.js";
import * as sqliteSchema from "./generated/drizzle-sqlite.js";
import type * as Standalone from "./generated/kysely.js";

const GENERATED = new URL("./generated/", import.meta.url);
const committed = (file: string) => readFileSync(new URL(file, GENERATED), "utf8");

/** Every committed file and the invocation that makes it. */
const FILES = [
  { file: "drizzle-sqlite.ts", args: ["--drizzle", "--dialect", "sqlite"] },
  { file: "drizzle-postgres.ts", args: ["--drizzle", "--dialect", "postgres"] },
  { file: "drizzle-mysql.ts", args: ["--drizzle", "--dialect", "mysql"] },
  { file: "prisma-sqlite.prisma", args: ["--prisma", "--dialect", "sqlite"] },
  { file: "prisma-postgres.prisma", args: ["--prisma", "--dialect", "postgres"] },
  { file: "prisma-mysql.prisma", args: ["--prisma", "--dialect", "mysql"] },
  { file: "kysely.ts", args: ["--kysely"] },
] as const;

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const cwd = mkdtempSync(join(tmpdir(), "clerk-sync-schema-"));
  const code = await runCommand(["schema", ...args], {
    cwd,
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr, cwd };
}

describe("clerk-sync schema", () => {
  it.each(FILES)(
    "prints test/generated/$file exactly (regenerate it with the command when this fails)",
    async ({ file, args }) => {
      const { code, stdout, stderr } = await run([...args]);
      expect(stderr).toBe("");
      expect(code).toBe(0);
      expect(stdout).toBe(committed(file));
    },
  );

  it("takes the dialect from --database-url, then DATABASE_URL (and .env), else SQLite", async () => {
    expect((await run(["--drizzle", "--database-url", "mariadb://db/app"])).stdout).toBe(ormSchema("drizzle", "mysql"));
    expect((await run(["--drizzle"], { DATABASE_URL: "postgres://db/app" })).stdout).toBe(
      ormSchema("drizzle", "postgres"),
    );
    expect((await run(["--prisma"])).stdout).toBe(ormSchema("prisma", "sqlite"));
    // --dialect wins over the URL.
    expect((await run(["--prisma", "--dialect", "mysql"], { DATABASE_URL: "postgres://db/app" })).stdout).toBe(
      ormSchema("prisma", "mysql"),
    );
    const cwd = mkdtempSync(join(tmpdir(), "clerk-sync-schema-env-"));
    writeFileSync(join(cwd, ".env"), "DATABASE_URL=postgresql://db/app\n");
    let stdout = "";
    const code = await runCommand(["schema", "--drizzle"], {
      cwd,
      env: {},
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => {},
    });
    expect(code).toBe(0);
    expect(stdout).toBe(ormSchema("drizzle", "postgres"));
  });

  it.each([[[]], [["--drizzle", "--prisma"]], [["--kysely", "--dialect", "oracle"]]])(
    "refuses %j with invalid_config and prints nothing",
    async (args) => {
      const { code, stdout, stderr } = await run(args);
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toContain("[invalid_config]");
    },
  );
});

/** A Drizzle table as the contract describes tables: real names, SQL types, nullability, keys, indexes. */
interface Described {
  name: string;
  columns: { name: string; type: string; nullable: boolean; default: unknown }[];
  primaryKey: string[];
  indexes: { name: string; columns: string[]; unique: boolean }[];
}

type Config =
  | ReturnType<typeof sqliteTableConfig>
  | ReturnType<typeof pgTableConfig>
  | ReturnType<typeof mysqlTableConfig>;

function describeDrizzle(config: Config): Described {
  return {
    name: config.name,
    columns: config.columns.map((c) => ({
      name: c.name,
      type: c.getSQLType().toLowerCase(),
      nullable: !c.notNull,
      default: c.default ?? null,
    })),
    primaryKey: [
      ...config.columns.filter((c) => c.primary).map((c) => c.name),
      // A composite key is the table's, not its columns' (`primaryKey({ columns })`).
      ...config.primaryKeys.flatMap((key) => key.columns.map((c) => c.name)),
    ],
    indexes: config.indexes.map((i) => ({
      name: i.config.name ?? "",
      columns: i.config.columns.map((c) => ("name" in c ? (c.name ?? "") : "")),
      unique: i.config.unique === true,
    })),
  };
}

/** The same description from the contract, with the SQL types the dialect's migrations use. */
function describeContract(table: TableSpec, types: DialectTypes): Described {
  return {
    name: table.name,
    columns: Object.entries(table.columns).map(([name, spec]) => ({
      name,
      // MySQL's `integer` is its `int` (Drizzle's spelling).
      type: types
        .columnType((spec.storage ?? spec.type) as StorageType)
        .toLowerCase()
        .replace(/^integer$/, types === MYSQL.types ? "int" : "integer"),
      nullable: spec.nullable,
      default: spec.default ?? null,
    })),
    primaryKey: [...table.primaryKey],
    indexes: table.indexes.map((i) => ({ name: i.name, columns: [...i.columns], unique: i.unique === true })),
  };
}

describe("the generated Drizzle tables", () => {
  const contract = Object.values(TABLES);
  const cases = [
    {
      dialect: "sqlite",
      types: SQLITE.types,
      tables: Object.values(sqliteSchema).map((t) => describeDrizzle(sqliteTableConfig(t as SQLiteTable))),
    },
    {
      dialect: "postgres",
      types: POSTGRES.types,
      tables: Object.values(postgresSchema).map((t) => describeDrizzle(pgTableConfig(t as PgTable))),
    },
    {
      dialect: "mysql",
      types: MYSQL.types,
      // MySQL's `json` is a custom type of the generated file (parsed on MariaDB too): its SQL type is json.
      tables: Object.values(mysqlSchema).map((t) => describeDrizzle(mysqlTableConfig(t as MySqlTable))),
    },
  ];

  it.each(cases)(
    "$dialect: are the contract's tables with the SQL types the migrations create",
    ({ types, tables }) => {
      expect(tables).toEqual(contract.map((t) => describeContract(t, types)));
    },
  );
});

describe("the standalone Kysely types", () => {
  it("equal the types clerk-sync derives from the contract", () => {
    expectTypeOf<Standalone.ClerkSyncDatabase>().toEqualTypeOf<Derived.ClerkSyncDatabase>();
    expectTypeOf<Standalone.ClerkUsersTable>().toEqualTypeOf<Derived.ClerkUsersTable>();
    expectTypeOf<Standalone.ClerkWebhookEventsTable>().toEqualTypeOf<Derived.ClerkWebhookEventsTable>();
  });
});
