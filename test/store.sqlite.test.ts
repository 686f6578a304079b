import { fdatasync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { deliveryJob } from "../src/core/apply.js";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { configureSqlite, SqliteWriter } from "../src/store/sqlite-writer.js";
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
    const batches = plans.map((plan) => store.runBatch([deliveryJob(plan)]));
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

describe("SQLite durability", () => {
  const tempDir = useTempDirs("durability");

  it("after a failed WAL sync, no delivery is acknowledged, the one under way included", async () => {
    const filename = join(tempDir(), "unsynced.db");
    const store = openSqliteStore({ filename });
    await store.migrate();
    await store.close();
    const sqlite = new Database(filename);
    try {
      configureSqlite(sqlite);
      let fail = false;
      const writer = new SqliteWriter(sqlite, null, {
        onDisk: true,
        lockTimeoutMs: 1000,
        sync: (fd, callback) =>
          fail ? callback(Object.assign(new Error("EIO"), { code: "EIO" })) : fdatasync(fd, callback),
      });
      const [first] = await writer.run([deliveryJob<null>(userPlan("user_synced"))]);
      expect(first).toEqual({ ok: true, value: "applied" });
      expect(writer.durabilityFailure).toBeUndefined();
      fail = true;
      const [second] = await writer.run([deliveryJob<null>(userPlan("user_unsynced"))]);
      expect(second?.ok).toBe(false);
      expect(writer.durabilityFailure).toMatchObject({ code: "EIO" });
      // The disk came back: nothing committed since the failure can be vouched for all the same.
      fail = false;
      const [third] = await writer.run([deliveryJob<null>(userPlan("user_after"))]);
      expect(third?.ok).toBe(false);
    } finally {
      sqlite.close();
    }
  });
});
