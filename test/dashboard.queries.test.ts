/**
 * Every query the dashboard runs besides the delivery log's (which the attempts branch checks):
 * EXPLAIN on SQLite, PostgreSQL and MariaDB must show an index, never a full scan of a clerk_*
 * table. The checker is shown to fail on a query that has no index (`first_name`).
 */
import { type Compilable, CompiledQuery, sql } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  applyLatencyQuery,
  organizationSearchQueries,
  syncRunsQuery,
  userSearchQueries,
} from "../src/store/dashboard-queries.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import {
  describeTarget,
  mysqlTarget,
  postgresTarget,
  type StoreTarget,
  sqliteMemoryTarget,
} from "./helpers/databases.js";

/** The full scans of clerk_* tables in a query's plan (empty: every table read through an index). */
async function fullScans(store: ClerkSyncStore, query: Compilable<unknown>): Promise<string[]> {
  const compiled = query.compile();
  const explain = (prefix: string) => CompiledQuery.raw(`${prefix} ${compiled.sql}`, [...compiled.parameters]);
  switch (store.dialect.name) {
    case "sqlite": {
      const { rows } = await store.db.executeQuery<{ detail: string }>(explain("EXPLAIN QUERY PLAN"));
      return rows.map((r) => r.detail).filter((d) => /^SCAN clerk_\w+$/.test(d));
    }
    case "postgres":
      // On an empty table the planner would rather scan; forbidding it shows whether an index fits.
      return store.db.connection().execute(async (conn) => {
        await sql`set enable_seqscan = off`.execute(conn);
        try {
          const { rows } = await conn.executeQuery<{ "QUERY PLAN": string }>(explain("EXPLAIN"));
          return rows.map((r) => r["QUERY PLAN"]).filter((line) => /Seq Scan on clerk_/.test(line));
        } finally {
          await sql`set enable_seqscan = on`.execute(conn);
        }
      });
    default: {
      const { rows } = await store.db.executeQuery<{ table: string | null; type: string | null }>(explain("EXPLAIN"));
      return rows.filter((r) => r.type === "ALL" && r.table?.startsWith("clerk_")).map((r) => `${r.table}: ALL`);
    }
  }
}

function describeQueries(target: StoreTarget): void {
  describeTarget(target, `dashboard queries use indexes on ${target.name}`, () => {
    let store: ClerkSyncStore;
    beforeAll(async () => {
      store = await target.fresh();
      await store.migrate();
    });
    afterAll(() => store?.close());

    it("the checker finds a full scan (a column with no index)", async () => {
      const unindexed = store.db.selectFrom("clerk_users").selectAll().where("first_name", "=", "Ada");
      expect((await fullScans(store, unindexed)).length).toBeGreaterThan(0);
    });

    it("users by id, external id, username, email, and the newest", async () => {
      for (const q of ["", "user_1", "jane@example.com"]) {
        for (const query of userSearchQueries(store.db, q)) {
          expect({ q, sql: query.compile().sql, scans: await fullScans(store, query) }).toMatchObject({ q, scans: [] });
        }
      }
    });

    it("organizations by id and slug, and the newest", async () => {
      for (const q of ["", "acme"]) {
        for (const query of organizationSearchQueries(store.db, q)) {
          expect({ q, sql: query.compile().sql, scans: await fullScans(store, query) }).toMatchObject({ q, scans: [] });
        }
      }
    });

    it("the runs, newest first, and the apply latency of recent deliveries", async () => {
      expect(await fullScans(store, syncRunsQuery(store.db))).toEqual([]);
      expect(await fullScans(store, applyLatencyQuery(store.db, Date.now() - 86_400_000))).toEqual([]);
    });
  });
}

describeQueries(sqliteMemoryTarget());
describeQueries(await postgresTarget());
describeQueries(await mysqlTarget());
