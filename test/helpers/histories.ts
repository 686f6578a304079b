import fc from "fast-check";
import { type DeleteMode, SyncEngine } from "../../src/core/engine.js";
import { parseEvent } from "../../src/core/validate.js";
import type { ClerkSyncStore } from "../../src/store/store.js";
import { loadExample } from "../../src/testing/fixtures.js";
import { userData, userDeleted, userEvent } from "./events.js";

/**
 * Generators of object histories (fast-check) for convergence tests: each object's deliveries in
 * the order Clerk made them, with strictly newer versions, and the reference that applies them
 * in that order. Used in-process (test/engine.property.test.ts) and against service processes
 * (test/scale-out.e2e.test.ts).
 */

/** One delivery as Svix sends it: its id and its raw JSON body. */
export interface HistoryDelivery {
  svixId: string;
  body: string;
}

/** One user's history: a create, some updates (strictly newer), maybe a delete. */
export const userHistory = (index: number): fc.Arbitrary<HistoryDelivery[]> =>
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
      const out: HistoryDelivery[] = [];
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
export const orgHistory = (index: number): fc.Arbitrary<HistoryDelivery[]> =>
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
      const out: HistoryDelivery[] = [];
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

/**
 * A membership's history: created, role changes, maybe deleted (the full membership, with its
 * envelope timestamp in seconds). It links `org_1`…`org_<orgs>` and `user_1`…`user_<users>`.
 */
export const membershipHistory = (index: number, orgs = 2, users = 3): fc.Arbitrary<HistoryDelivery[]> =>
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
      org: fc.integer({ min: 1, max: orgs }),
      user: fc.integer({ min: 1, max: users }),
    })
    .map(({ roles, deleted, org, user }) => {
      const id = `orgmem_${index}`;
      const base = loadExample("organizationMembership.updated").data;
      const out: HistoryDelivery[] = [];
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

/** How many objects of each kind a mixed history has (ids `user_1`…, `org_1`…, `orgmem_1`…). */
export interface MixSize {
  users: number;
  orgs: number;
  memberships: number;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Users, organizations and memberships together: every object's deliveries in order, objects one after another. */
export const mixedHistory = ({ users, orgs, memberships }: MixSize): fc.Arbitrary<HistoryDelivery[]> =>
  fc
    .tuple(
      ...range(users).map((i) => userHistory(i)),
      ...range(orgs).map((i) => orgHistory(i)),
      ...range(memberships).map((i) => membershipHistory(i, orgs, users)),
    )
    .map((histories) => histories.flat());

/**
 * The deliveries in any order with any duplication: a shuffle of all of them plus repeats of
 * some (up to `inOrder.length` repeats in all; an id may repeat several times).
 */
export const anyOrderWithRepeats = (inOrder: readonly HistoryDelivery[]): fc.Arbitrary<HistoryDelivery[]> =>
  fc.array(fc.nat(inOrder.length - 1), { maxLength: inOrder.length }).chain((repeats) =>
    fc.shuffledSubarray([...inOrder, ...repeats.map((i) => inOrder[i] as HistoryDelivery)], {
      minLength: inOrder.length + repeats.length,
    }),
  );

/** Every delivery sent 1 to `maxCopies` times (uniformly), all copies shuffled. */
export const shuffledCopies = (
  inOrder: readonly HistoryDelivery[],
  maxCopies: number,
): fc.Arbitrary<HistoryDelivery[]> =>
  fc
    .array(fc.integer({ min: 1, max: maxCopies }), { minLength: inOrder.length, maxLength: inOrder.length })
    .chain((copies) => {
      const all = inOrder.flatMap((d, i) => Array.from({ length: copies[i] ?? 1 }, () => d));
      return fc.shuffledSubarray(all, { minLength: all.length });
    });

/** A mixed history in order and the same deliveries as delivered: shuffled, some repeated. */
export const scenario = (size: MixSize): fc.Arbitrary<{ inOrder: HistoryDelivery[]; delivered: HistoryDelivery[] }> =>
  mixedHistory(size).chain((inOrder) =>
    fc.record({ inOrder: fc.constant(inOrder), delivered: anyOrderWithRepeats(inOrder) }),
  );

/** The engine's view of a delivery. */
export const toDelivery = (d: HistoryDelivery) => ({ svixId: d.svixId, rawBody: d.body, parsed: parseEvent(d.body) });

/** The reference: applies `inOrder` to `store` one delivery at a time, each awaited before the next. */
export async function applyInOrder(
  store: ClerkSyncStore,
  inOrder: readonly HistoryDelivery[],
  deleteMode: DeleteMode = "soft",
): Promise<void> {
  const engine = new SyncEngine(store, { deleteMode });
  for (const d of inOrder) await engine.process(toDelivery(d));
}
