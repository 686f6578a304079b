import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DeleteMode, SyncEngine } from "../src/core/engine.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import {
  describeTarget,
  mysqlTarget,
  postgresTarget,
  type StoreTarget,
  sqliteFileTarget,
  sqliteMemoryTarget,
} from "./helpers/databases.js";
import { applyInOrder, scenario, toDelivery } from "./helpers/histories.js";
import { clearTables, snapshot } from "./helpers/tables.js";

/** The property's objects: 3 users, 2 organizations, 2 memberships between them. */
const scenarioArb = scenario({ users: 3, orgs: 2, memberships: 2 });

/**
 * The property, once: the deliveries in any order and with any duplication, submitted at once
 * (so they share batches, as under load) and spread over `receivers` stores on one database
 * (separate connections, as separate receiver processes have), give the tables that in-order
 * delivery gives, and every repeat of a delivery id is answered `duplicate`.
 */
function convergence(deleteMode: DeleteMode, stores: () => { reference: ClerkSyncStore; receivers: ClerkSyncStore[] }) {
  return fc.asyncProperty(scenarioArb, async ({ inOrder, delivered }) => {
    const { reference, receivers } = stores();
    await clearTables(reference);
    await clearTables(receivers[0] as ClerkSyncStore);
    await applyInOrder(reference, inOrder, deleteMode);
    const engines = receivers.map((store) => new SyncEngine(store, { deleteMode }));
    const outcomes = await Promise.all(
      delivered.map((d, i) => (engines[i % engines.length] as SyncEngine).process(toDelivery(d))),
    );
    expect(await snapshot(receivers[0] as ClerkSyncStore)).toEqual(await snapshot(reference));
    const duplicates = outcomes.filter((o) => o.outcome === "duplicate").length;
    expect(duplicates).toBe(delivered.length - new Set(delivered.map((d) => d.svixId)).size);
  });
}

/** Where the property runs: fewer runs on the network databases, and two receivers there. */
const TARGETS: { target: StoreTarget; numRuns: number; receivers: number }[] = [
  { target: sqliteMemoryTarget(), numRuns: 150, receivers: 1 },
  { target: sqliteFileTarget(), numRuns: 40, receivers: 2 },
  { target: await postgresTarget(), numRuns: 40, receivers: 2 },
  { target: await mysqlTarget(), numRuns: 40, receivers: 2 },
];

for (const { target, numRuns, receivers } of TARGETS) {
  describeTarget(target, `convergence on ${target.name} (${receivers} receiver${receivers > 1 ? "s" : ""})`, () => {
    let reference: ClerkSyncStore;
    const subjects: ClerkSyncStore[] = [];
    beforeAll(async () => {
      reference = await target.fresh();
      await reference.migrate();
      const subject = await target.fresh();
      await subject.migrate();
      subjects.push(subject);
      while (subjects.length < receivers) subjects.push(await target.sibling(subject));
    });
    afterAll(async () => {
      for (const store of subjects.splice(0).reverse()) await store.close();
      await reference?.close();
    });

    describe.each<DeleteMode>(["soft", "hard"])("%s delete", (deleteMode) => {
      it("users, organizations and memberships interleaved: any order and duplication give the in-order tables", async () => {
        await fc.assert(
          convergence(deleteMode, () => ({ reference, receivers: subjects })),
          { numRuns },
        );
      }, 120_000);
    });
  });
}
