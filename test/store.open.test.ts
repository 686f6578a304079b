import { Kysely, MysqlDialect, PostgresDialect, sql } from "kysely";
import mysql from "mysql2";
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
import { isClerkSyncError } from "../src/core/errors.js";
import { openMysqlStore } from "../src/store/mysql/mysql-store.js";
import { openStore } from "../src/store/open.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { describeTarget, mysqlTarget, postgresTarget, type StoreTarget } from "./helpers/databases.js";

const [postgres, mariadb] = [await postgresTarget(), await mysqlTarget()];

/** Migrates, writes a row in a batch and reads it back: the store works. */
async function exercise(store: ClerkSyncStore): Promise<void> {
  await store.migrate();
  await store.transaction(async (tx) =>
    tx.upsertEntity("clerk_users", "user_open", 5, { first_name: "Open", banned: false }),
  );
  const row = await store.db.selectFrom("clerk_users").select(["first_name", "version"]).executeTakeFirst();
  expect([row?.first_name, Number(row?.version)]).toEqual(["Open", 5]);
}

/** A fresh database of `target` and its DATABASE_URL. */
async function freshUrl(target: StoreTarget): Promise<string> {
  const store = await target.fresh();
  await store.close();
  return target.url?.(store) as string;
}

describe("openStore and the open functions", () => {
  it("refuses unknown schemes, bad URLs and ambiguous options with invalid_config", async () => {
    const refused = async (promise: Promise<unknown>, text: string) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isClerkSyncError(error, "invalid_config")).toBe(true);
      expect((error as Error).message).toContain(text);
    };
    await refused(openStore("redis://localhost"), "postgres:, postgresql:, mysql: or mariadb:");
    await refused(openStore("postgres://localhost/db?schema=bad-name"), "letters, digits and _");
    await refused(openPostgresStore({}), "exactly one of url, pool or kysely");
    await refused(openMysqlStore({ url: "mysql://x", pool: mysql.createPool({}) }), "exactly one");
    await refused(openPostgresStore({ pool: new pg.Pool(), schema: "s" }), "search_path on your own pool");
  });

  it("says which package to install when the driver is missing", async () => {
    vi.resetModules();
    vi.doMock("pg", () => {
      throw new Error("Cannot find package 'pg'");
    });
    vi.doMock("mysql2", () => {
      throw new Error("Cannot find package 'mysql2'");
    });
    try {
      const { openStore: open } = await import("../src/store/open.js");
      await expect(open("postgresql://localhost/app")).rejects.toThrow("npm install pg");
      await expect(open("mariadb://localhost/app")).rejects.toThrow("npm install mysql2");
    } finally {
      vi.doUnmock("pg");
      vi.doUnmock("mysql2");
      vi.resetModules();
    }
  });

  describeTarget(postgres, "PostgreSQL", () => {
    it("opens from postgres:// and postgresql:// URLs with ?schema=", async () => {
      const url = await freshUrl(postgres);
      for (const scheme of ["postgres:", "postgresql:"]) {
        const store = await openStore(url.replace(/^postgres(ql)?:/, scheme));
        try {
          expect(store.dialect.name).toBe("postgres");
          await exercise(store);
          // The pool clerk-sync opens parses bigint to numbers.
          const row = await store.db.selectFrom("clerk_users").select("version").executeTakeFirst();
          expect(row?.version).toBe(5);
        } finally {
          await store.close();
        }
      }
    });

    it("runs on your own pg.Pool or Kysely, and leaves them open on close()", async () => {
      const url = new URL(await freshUrl(postgres));
      const schema = url.searchParams.get("schema") as string;
      url.searchParams.delete("schema");
      const pool = new pg.Pool({ connectionString: url.toString(), options: `-c search_path=${schema}` });
      try {
        // Your own pool's schema must exist: clerk-sync says so rather than guessing.
        const early = await openPostgresStore({ pool });
        await expect(early.migrate()).rejects.toThrow("search_path names no existing schema");
        await early.close();
        await pool.query(`create schema ${schema}`);
        const fromPool = await openPostgresStore({ pool });
        await exercise(fromPool);
        await fromPool.close();
        expect((await pool.query("select count(*)::int as n from clerk_users")).rows).toEqual([{ n: 1 }]);

        const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
        const fromKysely = await openPostgresStore({ kysely });
        await fromKysely.migrate();
        expect(await fromKysely.pendingMigrations()).toEqual([]);
        await fromKysely.close();
        const { rows } = await sql<{ n: number }>`select 1 as n`.execute(kysely);
        expect(rows).toEqual([{ n: 1 }]);
      } finally {
        await pool.end();
      }
    });
  });

  describeTarget(mariadb, "MySQL/MariaDB", () => {
    it("opens from mysql:// and mariadb:// URLs", async () => {
      const url = await freshUrl(mariadb);
      for (const scheme of ["mysql:", "mariadb:"]) {
        const store = await openStore(url.replace(/^mysql:/, scheme));
        try {
          expect(store.dialect.name).toBe("mysql");
          await exercise(store);
        } finally {
          await store.close();
        }
      }
    });

    it("runs on your own mysql2 pool (callback or promise) or Kysely, and leaves them open on close()", async () => {
      const url = await freshUrl(mariadb);
      const pool = mysql.createPool({ uri: url, connectionLimit: 3 });
      try {
        const fromPool = await openMysqlStore({ pool });
        await exercise(fromPool);
        await fromPool.close();

        const fromPromisePool = await openMysqlStore({ pool: pool.promise() });
        await fromPromisePool.migrate();
        await fromPromisePool.close();
        const [rows] = await pool.promise().query("select count(*) as n from clerk_users");
        expect(rows).toEqual([{ n: 1 }]);

        const kysely = new Kysely<unknown>({ dialect: new MysqlDialect({ pool }) });
        const fromKysely = await openMysqlStore({ kysely });
        expect(await fromKysely.pendingMigrations()).toEqual([]);
        await fromKysely.close();
        expect((await sql<{ n: number }>`select 1 as n`.execute(kysely)).rows).toEqual([{ n: 1 }]);
      } finally {
        await pool.promise().end();
      }
    });
  });
});
