import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { mapSnapshot, type SnapshotKind } from "../src/core/mappers.js";
import { applySnapshot } from "../src/core/sync-rules.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import {
  describeTarget,
  mysqlTarget,
  postgresTarget,
  type StoreTarget,
  sqliteMemoryTarget,
} from "./helpers/databases.js";
import { applyInOrder, type HistoryDelivery, scenario, toDelivery } from "./helpers/histories.js";
import { clearTables, snapshot } from "./helpers/tables.js";

/**
 * Backfill pages and webhooks interleaved: a backfill reads objects from the Backend API at any
 * moment of their history, so each snapshot is the state one of the webhooks also carried. Any
 * interleaving of any subset of those snapshots (as pages written through `applySnapshot`) with
 * the deliveries in any order and duplication ends in the tables in-order delivery gives.
 */
const SNAPSHOT_KIND: Record<string, SnapshotKind> = {
  "user.created": "user",
  "user.updated": "user",
  "organization.created": "organization",
  "organization.updated": "organization",
  "organizationMembership.created": "organization_membership",
  "organizationMembership.updated": "organization_membership",
};

type Step = { delivery: HistoryDelivery } | { page: { kind: SnapshotKind; data: Record<string, unknown> }[] };

/** The object states a backfill could have read: the data of every create and update. */
function states(inOrder: readonly HistoryDelivery[]) {
  return inOrder.flatMap((d) => {
    const event = JSON.parse(d.body) as { type: string; data: Record<string, unknown> };
    const kind = SNAPSHOT_KIND[event.type];
    return kind ? [{ kind, data: event.data }] : [];
  });
}

const interleaving = scenario({ users: 3, orgs: 2, memberships: 2 }).chain(({ inOrder, delivered }) => {
  const all = states(inOrder);
  return fc
    .record({
      read: fc.subarray(all),
      pageSize: fc.integer({ min: 1, max: 4 }),
      order: fc.array(fc.boolean(), {
        minLength: delivered.length + all.length,
        maxLength: delivered.length + all.length,
      }),
    })
    .map(({ read, pageSize, order }) => {
      const pages: Step[] = [];
      for (let i = 0; i < read.length; i += pageSize) pages.push({ page: read.slice(i, i + pageSize) });
      // Merge the deliveries and the pages, each in its own order, as `order` picks.
      const steps: Step[] = [];
      const deliveries = delivered.map((delivery): Step => ({ delivery }));
      for (const takeDelivery of order) {
        const next = (takeDelivery ? deliveries : pages).shift() ?? (takeDelivery ? pages : deliveries).shift();
        if (next) steps.push(next);
      }
      steps.push(...deliveries, ...pages);
      return { inOrder, steps };
    });
});

const TARGETS: { target: StoreTarget; numRuns: number }[] = [
  { target: sqliteMemoryTarget(), numRuns: 60 },
  { target: await postgresTarget(), numRuns: 15 },
  { target: await mysqlTarget(), numRuns: 15 },
];

for (const { target, numRuns } of TARGETS) {
  describeTarget(target, `backfill pages interleaved with webhooks on ${target.name}`, () => {
    let reference: ClerkSyncStore;
    let subject: ClerkSyncStore;
    beforeAll(async () => {
      reference = await target.fresh();
      await reference.migrate();
      subject = await target.fresh();
      await subject.migrate();
    });
    afterAll(async () => {
      await subject?.close();
      await reference?.close();
    });

    it("any interleaving of snapshot pages and deliveries gives the in-order tables", async () => {
      await fc.assert(
        fc.asyncProperty(interleaving, async ({ inOrder, steps }) => {
          await clearTables(reference);
          await clearTables(subject);
          await applyInOrder(reference, inOrder);
          const engine = new SyncEngine(subject);
          for (const step of steps) {
            if ("delivery" in step) {
              await engine.process(toDelivery(step.delivery));
            } else {
              await subject.transaction(async (tx) => {
                for (const { kind, data } of step.page) {
                  for (const m of mapSnapshot(kind, data)) await applySnapshot(tx, m, false);
                }
              });
            }
          }
          expect(await snapshot(subject)).toEqual(await snapshot(reference));
        }),
        { numRuns },
      );
    }, 180_000);
  });
}
