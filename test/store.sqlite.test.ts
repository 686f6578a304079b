import { join } from "node:path";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { describeStoreConformance } from "./conformance/store-suite.js";
import { sqliteFileTarget } from "./helpers/databases.js";
import { userPlan } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

describeStoreConformance(sqliteFileTarget());

describe("SQLite writer thread", () => {
  const tempDir = useTempDirs("writer-thread");

  it("close() with batches under way answers every one of them, and their rows are on disk", async () => {
    const filename = join(tempDir(), "close.db");
    const store = openSqliteStore({ filename });
    await store.migrate();
    const plans = Array.from({ length: 5 }, (_, i) => userPlan(`user_close_${i}`));
    const batches = plans.map((plan) => store.applyPlans([plan]));
    await store.close();
    const results = await Promise.all(batches);
    expect(results.flat().map((r) => (r.ok ? r.value : r.error))).toEqual(plans.map(() => "applied"));
    const reopened = openSqliteStore({ filename });
    try {
      const { rows } = await sql<{ id: string }>`select id from clerk_users order by id`.execute(reopened.db);
      expect(rows.map((r) => r.id)).toEqual(plans.map((p) => p.record.objectId));
    } finally {
      await reopened.close();
    }
  });
});
