// The migrations held to the table contract (src/core/schema.ts) on every database: a fresh
// store is migrated and its catalogue compared with the contract, table by table.
import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import {
  CHILD_TABLES,
  ENTITY_SYSTEM_COLUMNS,
  ENTITY_TABLES,
  TABLES,
  type TableName,
  type TableSpec,
} from "../src/core/schema.js";
import type { DialectSpec } from "../src/store/dialect.js";
import { introspectTables, normalizeSqlType, type TableInfo } from "../src/store/schema/introspect.js";
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE } from "../src/store/schema/migrations.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import {
  describeTarget,
  mysqlTarget,
  postgresTarget,
  type StoreTarget,
  sqliteMemoryTarget,
} from "./helpers/databases.js";

/** Owned by Kysely's migrator, not by the migrations: not part of the contract. */
const MIGRATOR_TABLES = new Set([MIGRATION_TABLE, MIGRATION_LOCK_TABLE]);

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** What the database's catalogue should answer for a table of the contract. */
function expectedTable(dialect: DialectSpec, table: TableSpec): TableInfo {
  return {
    name: table.name,
    columns: Object.entries(table.columns).map(([name, column]) => ({
      name,
      type: normalizeSqlType(dialect.name, dialect.types.columnType(column.storage ?? column.type)),
      // SQLite lets a text primary key hold NULL unless it is declared NOT NULL, which the
      // migrations do not do (https://sqlite.org/lang_createtable.html#the_primary_key).
      nullable: column.nullable || (dialect.name === "sqlite" && table.primaryKey.includes(name)),
      default: column.default === undefined ? null : String(column.default),
    })),
    primaryKey: [...table.primaryKey],
    indexes: table.indexes
      .map((index) => ({ name: index.name, columns: [...index.columns], unique: index.unique ?? false }))
      .sort(byName),
  };
}

/** One way in which the database and the contract disagree. */
interface Difference {
  table: string;
  /** `table`, `columns` (names and order), `<column>.type|nullable|default`, `primary key`, `index <name>`. */
  what: string;
  expected: unknown;
  actual: unknown;
}

function differences(expected: readonly TableInfo[], actual: readonly TableInfo[]): Difference[] {
  const out: Difference[] = [];
  const names = [...new Set([...expected, ...actual].map((t) => t.name))].sort();
  for (const name of names) {
    const e = expected.find((t) => t.name === name);
    const a = actual.find((t) => t.name === name);
    if (e === undefined || a === undefined) {
      out.push({ table: name, what: "table", expected: e !== undefined, actual: a !== undefined });
      continue;
    }
    const differ = (what: string, x: unknown, y: unknown) => {
      if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ table: name, what, expected: x, actual: y });
    };
    differ(
      "columns",
      e.columns.map((c) => c.name),
      a.columns.map((c) => c.name),
    );
    for (const column of e.columns) {
      const found = a.columns.find((c) => c.name === column.name);
      if (found === undefined) continue;
      differ(`${column.name}.type`, column.type, found.type);
      differ(`${column.name}.nullable`, column.nullable, found.nullable);
      differ(`${column.name}.default`, column.default, found.default);
    }
    differ("primary key", e.primaryKey, a.primaryKey);
    for (const index of [...new Set([...e.indexes, ...a.indexes].map((i) => i.name))].sort()) {
      const shape = (i: TableInfo["indexes"][number] | undefined) =>
        i === undefined ? undefined : { columns: i.columns, unique: i.unique };
      differ(
        `index ${index}`,
        shape(e.indexes.find((i) => i.name === index)),
        shape(a.indexes.find((i) => i.name === index)),
      );
    }
  }
  return out;
}

async function migratedTables(store: ClerkSyncStore): Promise<TableInfo[]> {
  await store.migrate();
  const tables = await introspectTables(store.db, store.dialect.name);
  return tables.filter((t) => !MIGRATOR_TABLES.has(t.name));
}

const expectedTables = (dialect: DialectSpec) => Object.values(TABLES).map((t) => expectedTable(dialect, t));

function describeContract(target: StoreTarget): void {
  describeTarget(target, `table contract: ${target.name}`, () => {
    const opened: ClerkSyncStore[] = [];
    const fresh = async () => {
      const store = await target.fresh();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it("the migrations create the contract's tables, columns, keys and indexes, and nothing else", async () => {
      const store = await fresh();
      expect(differences(expectedTables(store.dialect), await migratedTables(store))).toEqual([]);
    });

    it("sees a database that drifted from the contract", async () => {
      const store = await fresh();
      await store.migrate();
      const db = store.db;
      await db.schema.alterTable("clerk_sessions").addColumn("extra", sql.raw("bigint")).execute();
      await db.schema.createIndex("clerk_users_created_at_idx").on("clerk_users").column("created_at").execute();
      const drop = db.schema.dropIndex("clerk_objects_object_type_idx");
      await (store.dialect.name === "mysql" ? drop.on("clerk_objects") : drop).execute();
      await db.schema
        .createTable("clerk_extra")
        .addColumn("id", sql.raw("bigint"), (c) => c.primaryKey())
        .execute();

      const found = differences(expectedTables(store.dialect), await migratedTables(store));
      const sessionColumns = Object.keys(TABLES.clerk_sessions.columns);
      expect(found).toEqual([
        { table: "clerk_extra", what: "table", expected: false, actual: true },
        {
          table: "clerk_objects",
          what: "index clerk_objects_object_type_idx",
          expected: { columns: ["object_type"], unique: false },
          actual: undefined,
        },
        { table: "clerk_sessions", what: "columns", expected: sessionColumns, actual: [...sessionColumns, "extra"] },
        {
          table: "clerk_users",
          what: "index clerk_users_created_at_idx",
          expected: undefined,
          actual: { columns: ["created_at"], unique: false },
        },
      ]);
    });
  });
}

describeContract(sqliteMemoryTarget());
describeContract(await postgresTarget());
describeContract(await mysqlTarget());

describe("table contract", () => {
  it("describes the write path's tables as ENTITY_TABLES and CHILD_TABLES see them", () => {
    for (const [name, entity] of Object.entries(ENTITY_TABLES)) {
      const table = TABLES[name as TableName];
      const logical = Object.fromEntries(Object.entries(table.columns).map(([column, spec]) => [column, spec.type]));
      expect(logical).toEqual({ ...ENTITY_SYSTEM_COLUMNS, ...entity.columns });
      expect(table.primaryKey).toEqual(["id"]);
      for (const column of entity.keep ?? []) expect(Object.keys(entity.columns)).toContain(column);
    }
    for (const [name, child] of Object.entries(CHILD_TABLES)) {
      const table = TABLES[name as TableName];
      expect(Object.keys(table.columns)).toEqual(Object.keys(child.columns));
      expect(Object.keys(child.columns)).toContain(child.parentColumn);
    }
  });
});
