import { sql } from "kysely";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { openPostgresStore, postgresConnection } from "../src/store/postgres/postgres-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { describeStoreConformance } from "./conformance/store-suite.js";
import { describeTarget, postgresTarget } from "./helpers/databases.js";
import { userPlan } from "./helpers/events.js";

describeStoreConformance(await postgresTarget());

const target = await postgresTarget();

describeTarget(target, "PostgreSQL set-based batch that loses a race", () => {
  const opened: ClerkSyncStore[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });

  it("runs job by job when tried again, so that receivers take their locks in one order", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    await fresh.migrate();
    const { connectionString } = postgresConnection(target.url?.(fresh) as string);
    const pool = new pg.Pool({ connectionString, max: 2 });
    // The first set-based statement (data-modifying WITH queries) fails as a deadlock would.
    const sent: string[] = [];
    let deadlocked = false;
    const losing = {
      async connect() {
        const client = await pool.connect();
        return {
          query: (text: string, values: unknown[]) => {
            sent.push(text);
            if (text.startsWith("WITH") && !deadlocked) {
              deadlocked = true;
              return Promise.reject(Object.assign(new Error("deadlock detected"), { code: "40P01" }));
            }
            return client.query(text, values);
          },
          release: (destroy?: boolean) => client.release(destroy),
        };
      },
      end: () => pool.end(),
    };
    const store = await openPostgresStore({ pool: losing as unknown as pg.Pool });
    opened.push(store);
    const ids = ["user_race_a", "user_race_b", "user_race_c"];
    const results = await store.applyPlans(ids.map((id) => userPlan(id)));
    expect(results).toEqual(ids.map(() => ({ ok: true, value: "applied" })));
    expect(deadlocked).toBe(true);
    const afterLoss = sent.slice(sent.findIndex((t) => t.startsWith("WITH")) + 1);
    expect(afterLoss.filter((t) => t.startsWith("WITH"))).toEqual([]);
    const { rows } = await sql<{ id: string }>`select id from clerk_users order by id`.execute(fresh.db);
    expect(rows.map((r) => r.id)).toEqual(ids);
  });
});
