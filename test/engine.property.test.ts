import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type DeleteMode, SyncEngine } from "../src/core/engine.js";
import { parseEvent } from "../src/core/validate.js";
import { openSqliteStore } from "../src/store/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { loadExample } from "../src/testing/fixtures.js";
import { userData, userDeleted, userEvent } from "./helpers/events.js";
import { snapshot } from "./helpers/tables.js";

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

async function freshStore(): Promise<ClerkSyncStore> {
  const store = openSqliteStore({ filename: ":memory:" });
  await store.migrate();
  return store;
}

const toDelivery = (d: Delivery) => ({ svixId: d.svixId, rawBody: d.body, parsed: parseEvent(d.body) });

describe.each<DeleteMode>(["soft", "hard"])("convergence (%s delete)", (deleteMode) => {
  it("users, organizations and memberships interleaved: any order and duplication give the in-order tables", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ inOrder, delivered }) => {
        const reference = await freshStore();
        const subject = await freshStore();
        try {
          const refEngine = new SyncEngine(reference, { deleteMode });
          for (const d of inOrder) await refEngine.process(toDelivery(d));
          const engine = new SyncEngine(subject, { deleteMode });
          // Concurrent submission: deliveries share batches, as under load.
          const outcomes = await Promise.all(delivered.map((d) => engine.process(toDelivery(d))));
          expect(await snapshot(subject)).toEqual(await snapshot(reference));
          const duplicates = outcomes.filter((o) => o.outcome === "duplicate").length;
          expect(duplicates).toBe(delivered.length - new Set(delivered.map((d) => d.svixId)).size);
        } finally {
          await reference.close();
          await subject.close();
        }
      }),
      { numRuns: 150 },
    );
  });
});
