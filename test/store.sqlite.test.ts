import { join } from "node:path";
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { type DeliveryPlan, deliveryJob } from "../src/core/apply.js";
import { mapEvent } from "../src/core/mappers.js";
import { parseEvent } from "../src/core/validate.js";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import { describeStoreConformance } from "./conformance/store-suite.js";
import { sqliteFileTarget } from "./helpers/databases.js";
import { userData, userEvent } from "./helpers/events.js";
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

/** A user.created delivery with no hooks, as the engine plans it. */
function userPlan(userId: string): DeliveryPlan {
  const event = userEvent("user.created", userData(userId, 1_700_000_000_000));
  const payload = JSON.stringify(event);
  const parsed = parseEvent(payload);
  if (!parsed.known) throw new Error("user.created is a known type");
  return {
    record: {
      svixId: `msg_${userId}`,
      type: "user.created",
      objectType: "user",
      objectId: userId,
      eventTimestamp: 1_700_000_000_000,
      receivedAt: Date.now(),
      payload,
    },
    mutations: mapEvent(parsed.event),
    hard: false,
  };
}
