import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DeleteMode, SyncEngine } from "../src/core/engine.js";
import { parseEvent } from "../src/core/validate.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { loadExample } from "../src/testing/fixtures.js";
import {
  describeTarget,
  mysqlTarget,
  postgresTarget,
  type StoreTarget,
  sqliteMemoryTarget,
} from "./helpers/databases.js";
import { userData, userDeleted, userEvent } from "./helpers/events.js";
import { clearTables, snapshot } from "./helpers/tables.js";

interface Delivery {
  svixId: string;
  body: string;
}

/** One object's history: a create, some updates (strictly newer), maybe a delete. */
const history = (index: number) =>
  fc
    .record({
      updates: fc.array(
        fc.record({
          gap: fc.integer({ min: 1, max: 5_000 }),
          firstName: fc.constantFrom("Ann", "Bob", "Cy", null),
          emails: fc.subarray(["a", "b", "c"]),
          primary: fc.nat(2),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      deleted: fc.boolean(),
      // Clerk may send the envelope timestamp in seconds: the deletion can then look older
      // than the last update made within the same second.
      deleteInSeconds: fc.boolean(),
      deleteGap: fc.integer({ min: 0, max: 3_000 }),
    })
    .map(({ updates, deleted, deleteInSeconds, deleteGap }) => {
      const id = `user_${index}`;
      const out: Delivery[] = [];
      let t = 1_700_000_000_000 + index * 7;
      updates.forEach((u, i) => {
        t += u.gap;
        const emails = u.emails.map((e) => ({
          object: "email_address" as const,
          id: `idn_${index}_${e}`,
          email_address: `${e}${index}@example.com`,
          verification: { status: "verified" },
        }));
        const data = userData(id, t, {
          first_name: u.firstName,
          email_addresses: emails,
          primary_email_address_id: emails[u.primary % Math.max(emails.length, 1)]?.id ?? null,
        });
        out.push({
          svixId: `msg_${index}_${i}`,
          body: JSON.stringify(userEvent(i === 0 ? "user.created" : "user.updated", data)),
        });
      });
      if (deleted) {
        const at = t + deleteGap;
        out.push({
          svixId: `msg_${index}_del`,
          body: JSON.stringify(userDeleted(id, deleteInSeconds ? Math.floor(at / 1000) : at)),
        });
      }
      return out;
    });

/** An organization's history: created, renamed a few times, maybe deleted (a stub). */
const orgHistory = (index: number) =>
  fc
    .record({
      names: fc.array(
        fc.record({ gap: fc.integer({ min: 1, max: 5_000 }), name: fc.constantFrom("Acme", "Globex", "Initech") }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      deleted: fc.boolean(),
      deleteInSeconds: fc.boolean(),
    })
    .map(({ names, deleted, deleteInSeconds }) => {
      const id = `org_${index}`;
      const out: Delivery[] = [];
      let t = 1_700_000_000_000 + index * 11;
      names.forEach((n, i) => {
        t += n.gap;
        const data = { ...loadExample("organization.updated").data, id, name: n.name, updated_at: t };
        out.push({
          svixId: `msg_org_${index}_${i}`,
          body: JSON.stringify({
            object: "event",
            type: i === 0 ? "organization.created" : "organization.updated",
            timestamp: t,
            data,
          }),
        });
      });
      if (deleted) {
        t += 10;
        out.push({
          svixId: `msg_org_${index}_del`,
          body: JSON.stringify({
            object: "event",
            type: "organization.deleted",
            timestamp: deleteInSeconds ? Math.floor(t / 1000) : t,
            data: { object: "organization", id, deleted: true },
          }),
        });
      }
      return out;
    });

/** A membership's history: created, role changes, maybe deleted (the full membership). */
const membershipHistory = (index: number) =>
  fc
    .record({
      roles: fc.array(
        fc.record({ gap: fc.integer({ min: 1, max: 5_000 }), role: fc.constantFrom("org:admin", "org:member") }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      deleted: fc.boolean(),
      org: fc.integer({ min: 1, max: 2 }),
      user: fc.integer({ min: 1, max: 3 }),
    })
    .map(({ roles, deleted, org, user }) => {
      const id = `orgmem_${index}`;
      const base = loadExample("organizationMembership.updated").data;
      const out: Delivery[] = [];
      let t = 1_700_000_000_000 + index * 13;
      const payload = (role: string, at: number) => ({
        ...base,
        id,
        role,
        updated_at: at,
        organization: { ...(base.organization as object), id: `org_${org}` },
        public_user_data: { ...(base.public_user_data as object), user_id: `user_${user}` },
      });
      roles.forEach((r, i) => {
        t += r.gap;
        out.push({
          svixId: `msg_mem_${index}_${i}`,
          body: JSON.stringify({
            object: "event",
            type: i === 0 ? "organizationMembership.created" : "organizationMembership.updated",
            timestamp: t,
            data: payload(r.role, t),
          }),
        });
      });
      if (deleted) {
        const last = roles[roles.length - 1]?.role ?? "org:member";
        out.push({
          svixId: `msg_mem_${index}_del`,
          body: JSON.stringify({
            object: "event",
            type: "organizationMembership.deleted",
            timestamp: Math.floor((t + 500) / 1000),
            data: payload(last, t),
          }),
        });
      }
      return out;
    });

const scenario = fc
  .tuple(history(1), history(2), history(3), orgHistory(1), orgHistory(2), membershipHistory(1), membershipHistory(2))
  .map((histories) => histories.flat())
  .chain((inOrder) =>
    fc.record({
      inOrder: fc.constant(inOrder),
      // Any permutation with any duplication: shuffle the deliveries plus repeats of some.
      delivered: fc.array(fc.nat(inOrder.length - 1), { maxLength: inOrder.length }).chain((repeats) =>
        fc.shuffledSubarray([...inOrder, ...repeats.map((i) => inOrder[i] as Delivery)], {
          minLength: inOrder.length + repeats.length,
        }),
      ),
    }),
  );

const toDelivery = (d: Delivery) => ({ svixId: d.svixId, rawBody: d.body, parsed: parseEvent(d.body) });

/**
 * The property, once: the deliveries in any order and with any duplication, submitted at once
 * (so they share batches, as under load) and spread over `receivers` stores on one database
 * (separate connections, as separate receiver processes have), give the tables that in-order
 * delivery gives, and every repeat of a delivery id is answered `duplicate`.
 */
function convergence(deleteMode: DeleteMode, stores: () => { reference: ClerkSyncStore; receivers: ClerkSyncStore[] }) {
  return fc.asyncProperty(scenario, async ({ inOrder, delivered }) => {
    const { reference, receivers } = stores();
    await clearTables(reference);
    await clearTables(receivers[0] as ClerkSyncStore);
    const refEngine = new SyncEngine(reference, { deleteMode });
    for (const d of inOrder) await refEngine.process(toDelivery(d));
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
