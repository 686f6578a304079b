import { type Kysely, sql } from "kysely";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { openMysqlStore } from "../src/store/mysql/mysql-store.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { PreparedTexts, preparingPool } from "../src/store/sql/prepared-statements.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { describeTarget, mysqlTarget, postgresTarget } from "./helpers/databases.js";
import { userPlan } from "./helpers/events.js";

const target = await postgresTarget();

/** The clerk-sync statements prepared on the connection that runs this query. */
async function preparedHere(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_prepared_statements where name like 'clerk_sync_%'`.execute(db);
  return rows[0]?.n ?? 0;
}

describeTarget(target, "PostgreSQL prepared statements", () => {
  const opened: ClerkSyncStore[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });

  it("sends the set-based batches' statements prepared, and applies them as before", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    await fresh.migrate();
    // One connection: the batches and the check below share it (prepared statements are per session).
    const store = await openPostgresStore({ url: target.url?.(fresh) as string, poolSize: 1 });
    opened.push(store);
    const ids = Array.from({ length: 6 }, (_, i) => `user_prepared_${i}`);
    for (const pair of [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]) {
      const results = await store.applyPlans(pair.map((id) => userPlan(id)));
      expect(results).toEqual(pair.map(() => ({ ok: true, value: "applied" })));
    }
    // Three batches of the same shape: one text, prepared once.
    expect(await preparedHere(store.db as Kysely<unknown>)).toBe(1);
    const { rows } = await sql<{ id: string }>`select id from clerk_users order by id`.execute(store.db);
    expect(rows.map((r) => r.id)).toEqual(ids);
  });

  it("sends them unprepared with ?prepared_statements=false (poolers without prepared statements)", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    await fresh.migrate();
    const url = new URL(target.url?.(fresh) as string);
    url.searchParams.set("prepared_statements", "false");
    const store = await openPostgresStore({ url: url.toString(), poolSize: 1 });
    opened.push(store);
    const results = await store.applyPlans(["user_unprepared_1", "user_unprepared_2"].map((id) => userPlan(id)));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(await preparedHere(store.db as Kysely<unknown>)).toBe(0);
  });

  it("refuses a prepared_statements value other than true or false, with invalid_config", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test?prepared_statements=no";
    await expect(openPostgresStore({ url })).rejects.toMatchObject({ code: "invalid_config" });
  });

  it("prepares at most the registry's texts, and at most perConnection of them on a connection", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    const pool = new pg.Pool({ connectionString: target.url?.(fresh) as string, max: 1 });
    try {
      const texts = new PreparedTexts(3);
      const statements = [1, 2, 3, 4].map((n) => `select $1::int + ${n} as v`);
      for (const text of statements) texts.register(text);
      expect(statements.map((t) => texts.nameFor(t) !== undefined)).toEqual([true, true, true, false]);
      const wrapped = preparingPool(pool, texts, 2);
      const client = await wrapped.connect();
      try {
        for (const round of [1, 2]) {
          for (const [i, text] of statements.entries()) {
            const { rows } = await client.query<{ v: number }>(text, [round * 10]);
            expect(rows).toEqual([{ v: round * 10 + i + 1 }]);
          }
        }
        const { rows } = await client.query<{ n: number }>(
          "select count(*)::int as n from pg_prepared_statements where name like $1",
          ["clerk_sync_%"],
        );
        expect(rows).toEqual([{ n: 2 }]);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  });
});

const mysqlDb = await mysqlTarget();

/** Prepared statements run on the connection that runs this query (MySQL keeps the count per session). */
async function executedHere(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ Value: string }>`show session status like 'Com_stmt_execute'`.execute(db);
  return Number(rows[0]?.Value ?? 0);
}

describeTarget(mysqlDb, "MySQL prepared statements", () => {
  const opened: ClerkSyncStore[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });

  for (const prepared of [true, false]) {
    it(`runs the set-based batches' statements ${prepared ? "prepared" : "as text with ?prepared_statements=false"}`, async () => {
      const fresh = await mysqlDb.fresh();
      opened.push(fresh);
      await fresh.migrate();
      const url = new URL(mysqlDb.url?.(fresh) as string);
      if (!prepared) url.searchParams.set("prepared_statements", "false");
      const store = await openMysqlStore({ url: url.toString(), poolSize: 1 });
      opened.push(store);
      const ids = Array.from({ length: 4 }, (_, i) => `user_mysql_prepared_${prepared}_${i}`);
      for (const pair of [ids.slice(0, 2), ids.slice(2)]) {
        const results = await store.applyPlans(pair.map((id) => userPlan(id)));
        expect(results).toEqual(pair.map(() => ({ ok: true, value: "applied" })));
      }
      const executed = await executedHere(store.db as Kysely<unknown>);
      if (prepared) expect(executed).toBeGreaterThanOrEqual(2);
      else expect(executed).toBe(0);
      const { rows } = await sql<{ id: string }>`select id from clerk_users order by id`.execute(store.db);
      expect(rows.map((r) => r.id)).toEqual(ids);
    });
  }
});
