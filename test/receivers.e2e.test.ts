import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { generateSecret } from "../src/server/env-files.js";
import { migrationNames } from "../src/store/schema/migrations.js";
import { describeTarget, mysqlTarget, postgresTarget } from "./helpers/databases.js";
import { userData, userEvent } from "./helpers/events.js";
import { makeTempDir, runCli, startServiceProcess } from "./helpers/service-process.js";

/**
 * Black-box: real `clerk-sync` processes (the built dist/) sharing one PostgreSQL or MySQL
 * database, with no coordination between them but the database.
 */
const targets = [await postgresTarget(), await mysqlTarget()];

describe("several receiver processes on one database", () => {
  for (const target of targets) {
    describeTarget(target, target.name, () => {
      it("`clerk-sync migrate` from two processes at once: the migrations run once", async () => {
        const store = await target.fresh();
        try {
          const env = { DATABASE_URL: target.url?.(store) };
          const cwd = makeTempDir();
          const runs = await Promise.all([runCli(["migrate"], { cwd, env }), runCli(["migrate"], { cwd, env })]);
          expect(runs.map((r) => [r.code, r.stderr])).toEqual([
            [0, ""],
            [0, ""],
          ]);
          const outputs = runs.map((r) => r.stdout.trim()).sort();
          expect(outputs).toEqual(["Already up to date.", `Applied: ${migrationNames(store.dialect).join(", ")}`]);
          expect(await store.pendingMigrations()).toEqual([]);
          const status = await runCli(["status", "--json"], { cwd, env });
          expect(status.code).toBe(0);
          expect(JSON.parse(status.stdout)).toMatchObject({ deliveries: { total: 0 } });
        } finally {
          await store.close();
        }
      }, 60_000);

      it("three services started at once (each migrating) take the same deliveries at once: each applies once, the newest version wins", async () => {
        const store = await target.fresh();
        try {
          const secret = generateSecret();
          const env = { DATABASE_URL: target.url?.(store) };
          const services = await Promise.all(
            [0, 1, 2].map(() => startServiceProcess({ secret, databaseFlag: false, env, startTimeoutMs: 30_000 })),
          );
          // 4 users × 6 versions, shuffled; every delivery goes to two services at the same moment.
          const deliveries = [];
          for (let u = 0; u < 4; u++) {
            for (let v = 1; v <= 6; v++) {
              const email = {
                object: "email_address" as const,
                id: `idn_multi_${u}_${v}`,
                email_address: `v${v}.${u}@example.com`,
                verification: { status: "verified" },
              };
              const data = userData(`user_multi_${u}`, 1_700_000_000_000 + v * 1000, {
                first_name: `v${v}`,
                email_addresses: [email],
                primary_email_address_id: email.id,
              });
              deliveries.push({
                id: `msg_multi_${u}_${v}`,
                payload: userEvent(v === 1 ? "user.created" : "user.updated", data),
              });
            }
          }
          deliveries.sort(() => Math.random() - 0.5);
          const replies = await Promise.all(
            deliveries.flatMap((d, i) => [
              services[i % 3]?.post(d.payload, { id: d.id }),
              services[(i + 1) % 3]?.post(d.payload, { id: d.id }),
            ]),
          );
          expect(replies.map((r) => r?.status).filter((s) => s !== 200)).toEqual([]);
          const outcomes = new Map<string, string[]>();
          for (const r of replies)
            outcomes.set(r?.id as string, [...(outcomes.get(r?.id as string) ?? []), r?.body.status]);
          for (const [id, pair] of outcomes) {
            // One of the two copies is processed (applied, or stale when a newer version came
            // first), the other is a duplicate.
            const processed = pair.filter((o) => o !== "duplicate");
            expect([id, pair.length, processed.length]).toEqual([id, 2, 1]);
            expect(["applied", "stale"]).toContain(processed[0]);
          }

          const { rows: users } = await sql<{ id: string; first_name: string; version: unknown }>`
            select id, first_name, version from clerk_users order by id`.execute(store.db);
          expect(users.map((u) => [u.id, u.first_name, Number(u.version)])).toEqual(
            [0, 1, 2, 3].map((u) => [`user_multi_${u}`, "v6", 1_700_000_006_000]),
          );
          const { rows: events } = await sql<{ n: unknown; attempts: unknown }>`
            select count(*) as n, sum(delivery_count) as attempts from clerk_webhook_events`.execute(store.db);
          expect(events.map((e) => [Number(e.n), Number(e.attempts)])).toEqual([[24, 48]]);
          const { rows: emails } = await sql<{ user_id: string; email_address: string }>`
            select user_id, email_address from clerk_user_email_addresses order by user_id`.execute(store.db);
          expect(emails.map((e) => [e.user_id, e.email_address])).toEqual(
            [0, 1, 2, 3].map((u) => [`user_multi_${u}`, `v6.${u}@example.com`]),
          );
          await Promise.all(services.map((s) => s.stop()));
        } finally {
          await store.close();
        }
      }, 90_000);
    });
  }
});
