import fc from "fast-check";
import { sql } from "kysely";
import { expect, it } from "vitest";
import type { DeleteMode } from "../src/core/engine.js";
import { generateSecret } from "../src/server/env-files.js";
import { describeTarget, mysqlTarget, postgresTarget } from "./helpers/databases.js";
import { applyInOrder, type HistoryDelivery, mixedHistory, shuffledCopies } from "./helpers/histories.js";
import { type PostResult, type ServiceProcess, startServiceProcess } from "./helpers/service-process.js";
import { normalizedSnapshot } from "./helpers/tables.js";

/**
 * Scale-out, black-box: four `clerk-sync serve` processes (the built dist/) on one PostgreSQL
 * schema or MySQL database, fed a generated history of users, organizations and memberships
 * (updates, deletions, deletion timestamps in seconds), shuffled and with repeats, each delivery
 * to a randomly chosen receiver, many at once. The mirrored tables must equal those of applying
 * the history in order to a fresh store of the same database; every delivery id is processed by
 * exactly one receiver, every copy is answered 2xx and counted.
 */
const RECEIVERS = 4;
/** Requests in flight at once, over all receivers. */
const IN_FLIGHT = 48;
const SIZE = { users: 10, orgs: 4, memberships: 6 };
/** Each delivery is sent 1 to 3 times (Svix retries, and redelivery by hand). */
const MAX_COPIES = 3;
/** One history per seed; the last in hard-delete mode. */
const RUNS: { seed: number; deleteMode: DeleteMode }[] = [
  { seed: 20_251, deleteMode: "soft" },
  { seed: 20_252, deleteMode: "soft" },
  { seed: 20_253, deleteMode: "hard" },
];

const targets = [await postgresTarget(), await mysqlTarget()];

/** The deliveries of one run, in order and as sent, each sent copy with its receiver. */
function generate(seed: number) {
  const arbitrary = mixedHistory(SIZE).chain((inOrder) =>
    shuffledCopies(inOrder, MAX_COPIES).chain((delivered) =>
      fc.record({
        inOrder: fc.constant(inOrder),
        delivered: fc.constant(delivered),
        receivers: fc.array(fc.nat(RECEIVERS - 1), { minLength: delivered.length, maxLength: delivered.length }),
      }),
    ),
  );
  const [value] = fc.sample(arbitrary, { seed, numRuns: 1 });
  if (!value) throw new Error("no sample");
  return value;
}

/** Runs `tasks` with at most `limit` under way at once; results in task order. */
async function inParallel<T>(limit: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

const countBy = <K>(keys: readonly K[]) => {
  const counts = new Map<K, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
};

for (const target of targets) {
  describeTarget(target, `scale-out on ${target.name}: ${RECEIVERS} receiver processes on one database`, () => {
    for (const { seed, deleteMode } of RUNS) {
      it(`seed ${seed} (${deleteMode} delete): a shuffled, repeated mixed history spread over the receivers gives the in-order tables`, async () => {
        const { inOrder, delivered, receivers } = generate(seed);
        const reference = await target.fresh();
        const subject = await target.fresh();
        let services: ServiceProcess[] = [];
        try {
          await reference.migrate();
          await applyInOrder(reference, inOrder, deleteMode);

          // The services start together, each migrating the same empty database.
          const secret = generateSecret();
          const env = { DATABASE_URL: target.url?.(subject), CLERK_SYNC_DELETE_MODE: deleteMode };
          services = await Promise.all(
            Array.from({ length: RECEIVERS }, () =>
              startServiceProcess({ secret, databaseFlag: false, env, startTimeoutMs: 30_000 }),
            ),
          );

          const replies = await inParallel(
            IN_FLIGHT,
            delivered.map((d: HistoryDelivery, i) => () => {
              const service = services[receivers[i] as number] as ServiceProcess;
              return service.post(d.body, { id: d.svixId });
            }),
          );

          // Every copy answered 2xx.
          const failed = replies.filter((r) => r.status < 200 || r.status > 299);
          // On failure, show why: the services' error lines (a 5xx's cause is logged, not answered).
          for (const service of failed.length > 0 ? services : []) {
            console.error(
              service.stdout
                .split("\n")
                .filter((line) => /"level":"(error|warn)"/.test(line))
                .join("\n"),
            );
          }
          expect(failed.map((r) => [r.id, r.status, r.text])).toEqual([]);

          // Every delivery id processed exactly once: one answer that is not `duplicate`, across all receivers.
          const byId = new Map<string, PostResult[]>();
          for (const r of replies) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
          const sent = countBy(delivered.map((d) => d.svixId));
          expect(new Set(byId.keys())).toEqual(new Set(inOrder.map((d) => d.svixId)));
          const processed = new Map<string, string>();
          for (const [id, copies] of byId) {
            const outcomes = copies.map((c) => c.body?.status as string);
            const first = outcomes.filter((o) => o !== "duplicate");
            expect({ id, processed: first.length, copies: copies.length }).toEqual({
              id,
              processed: 1,
              copies: sent.get(id),
            });
            expect(["applied", "stale", "ignored"]).toContain(first[0]);
            processed.set(id, first[0] as string);
          }

          // The shuffle did reorder: some deliveries came after a newer version of their object.
          expect([...processed.values()]).toContain("stale");

          // Each delivery row: the outcome answered, and every copy counted.
          const { rows } = await sql<{ svix_id: string; status: string; delivery_count: unknown }>`
            select svix_id, status, delivery_count from clerk_webhook_events`.execute(subject.db);
          const stored = rows.map((r) => [r.svix_id, r.status, Number(r.delivery_count)]);
          expect(stored.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1))).toEqual(
            [...processed.keys()].sort().map((id) => [id, processed.get(id), sent.get(id)]),
          );

          // The mirrored tables: those of in-order delivery.
          expect(await normalizedSnapshot(subject)).toEqual(await normalizedSnapshot(reference));

          const exits = await Promise.all(services.map((s) => s.stop()));
          expect(exits.map((e) => e.code)).toEqual(services.map(() => 0));
        } finally {
          await Promise.all(services.map((s) => s.stop()));
          await subject.close();
          await reference.close();
        }
      }, 60_000);
    }
  });
}
