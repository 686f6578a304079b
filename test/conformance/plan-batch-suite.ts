import { sql } from "kysely";
import { expect, it } from "vitest";
import { toStoreError } from "../../src/core/errors.js";
import type { Mutation } from "../../src/core/mappers.js";
import type { EntityTableName } from "../../src/core/schema.js";
import type { DeliveryPlan, DeliveryRecord } from "../../src/core/store-contract.js";
import type { ClerkSyncStore } from "../../src/store/store.js";
import { snapshot } from "../helpers/tables.js";

const record = (svixId: string, objectId: string | null, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  svixId,
  type: "user.updated",
  objectType: "user",
  objectId,
  eventTimestamp: 1_700_000_000_000,
  receivedAt: 1_700_000_000_500,
  payload: `{"id":"${svixId}"}`,
  ...overrides,
});

const email = (id: string, userId: string, primary = false, address: string | null = `${id}@example.com`) => ({
  id,
  user_id: userId,
  email_address: address,
  verification_status: "verified",
  is_primary: primary,
});

/** A user's upsert with its email addresses (a null address makes the job fail in the database). */
function user(id: string, version: number, firstName: string, emails: ReturnType<typeof email>[] = []): Mutation {
  return {
    op: "upsert",
    table: "clerk_users",
    id,
    version,
    values: { first_name: firstName, banned: false, public_metadata: { v: version }, data: { id, firstName } },
    children: [{ table: "clerk_user_email_addresses", parentId: id, rows: emails }],
  };
}

function entity(table: EntityTableName, id: string, version: number, name: string): Mutation {
  return { op: "upsert", table, id, version, values: { name, role: name, data: { id, name } }, children: [] };
}

function removal(table: EntityTableName, id: string, deletedAt: number): Mutation {
  const children = table === "clerk_users" ? (["clerk_user_email_addresses"] as const) : [];
  return { op: "delete", table, id, version: deletedAt, children: [...children] };
}

const plan = (svixId: string, mutations: Mutation[], hard = false): DeliveryPlan => ({
  record: record(svixId, mutations[0]?.id ?? null),
  mutations,
  hard,
});

/** A promise with its resolve function, to hold a job at a chosen point. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function rows(store: ClerkSyncStore, table: string): Promise<Record<string, unknown>[]> {
  const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by 1`.execute(store.db);
  return rows;
}

/** Every mirrored row and every delivery row. */
async function everything(store: ClerkSyncStore) {
  return { ...(await snapshot(store)), clerk_webhook_events: await rows(store, "clerk_webhook_events") };
}

/**
 * Counts the batches a network store runs job by job, in a Kysely transaction with a savepoint
 * per job, rather than set-based (the SQLite store runs neither through Kysely: it stays 0).
 */
function jobByJobBatches(store: ClerkSyncStore): () => number {
  let count = 0;
  const db = store.db as { startTransaction: () => unknown };
  const start = db.startTransaction.bind(db);
  db.startTransaction = () => {
    count++;
    return start();
  };
  return () => count;
}

/** Applies plans; answers each delivery's outcome, or its error's code. */
async function apply(store: ClerkSyncStore, plans: DeliveryPlan[], hooked = false): Promise<string[]> {
  // With a hook (here one that does nothing) a delivery is a job: the store runs it job by job.
  const results = hooked
    ? await store.applyJobs(plans.map((plan) => ({ plan, beforeFinish: async () => {} })))
    : await store.applyPlans(plans);
  return results.map((r) => (r.ok ? r.value : toStoreError(r.error).code));
}

/**
 * The set-based batch (plan jobs of distinct deliveries and rows, see src/store/plan-batch.ts)
 * against the job-by-job path that defines the rules (`applyDelivery` in its savepoint): the same
 * outcomes and the same rows, a failing plan failing alone, and receivers racing on one database.
 */
export function describePlanBatchConformance(stores: {
  /** The test's store, migrated and empty. */
  subject: () => ClerkSyncStore;
  /** Another store on a new, empty database (not migrated). */
  fresh: () => Promise<ClerkSyncStore>;
  /** Another receiver on the database of `store`, with `lockTimeoutMs`; network databases only. */
  sibling: (store: ClerkSyncStore, lockTimeoutMs?: number) => Promise<ClerkSyncStore>;
  /** Whether the store locks rows (PostgreSQL, MySQL), so that a lock wait can time out. */
  locksRows: boolean;
}): void {
  const { subject } = stores;
  it("a batch of plans across tables has the effect job-by-job runs have: every outcome, deletions, children", async () => {
    const store = subject();
    const reference = await stores.fresh();
    await reference.migrate();
    const seed = [
      plan("msg_s1", [user("user_old", 100, "Old", [email("e_o1", "user_old", true), email("e_o2", "user_old")])]),
      plan("msg_s2", [user("user_newer", 100, "Newer")]),
      plan("msg_s3", [entity("clerk_organizations", "org_1", 100, "Org")]),
      plan("msg_s4", [user("user_hard", 100, "Hard", [email("e_h1", "user_hard", true)])]),
      plan("msg_s5", [entity("clerk_organization_memberships", "mem_1", 100, "admin")]),
      plan("msg_s6", [entity("clerk_organizations", "org_2", 100, "Org 2")]),
      plan("msg_f", [user("user_retry", 5, "Broken", [email("e_r1", "user_retry", true, null)])]),
    ];
    const batch = [
      plan("msg_1", [user("user_old", 200, "Updated", [email("e_o2", "user_old", true), email("e_n1", "user_old")])]),
      plan("msg_2", [user("user_newer", 50, "Late")]),
      plan("msg_3", [user("user_fresh", 10, "Fresh", [email("e_f1", "user_fresh", true)])]),
      plan("msg_4", [removal("clerk_organizations", "org_1", 300)]),
      plan("msg_5", [removal("clerk_roles", "role_absent", 400)]),
      plan("msg_6", [
        entity("clerk_organization_memberships", "mem_1", 150, "member"),
        removal("clerk_organization_memberships", "mem_1", 500),
      ]),
      plan("msg_7", []),
      plan("msg_f", [user("user_retry", 5, "Retried", [email("e_r1", "user_retry", true)])]),
      plan("msg_s6", [entity("clerk_organizations", "org_2", 100, "Org 2")]),
      plan("msg_8", [removal("clerk_users", "user_hard", 600)], true),
      plan("msg_9", [
        entity("clerk_organization_memberships", "mem_2", 10, "x"),
        removal("clerk_organization_memberships", "mem_2", 20),
      ]),
    ];
    const expected = [
      "applied",
      "stale",
      "applied",
      "applied",
      "applied",
      "applied",
      "ignored",
      "applied",
      "duplicate",
      "applied",
      "applied",
    ];
    const seeded = ["applied", "applied", "applied", "applied", "applied", "applied", "unstorable_payload"];
    expect(await apply(store, seed)).toEqual(seeded);
    expect(await apply(reference, seed, true)).toEqual(seeded);

    const fallbacks = jobByJobBatches(store);
    expect(await apply(store, batch)).toEqual(expected);
    expect(fallbacks()).toBe(0);
    expect(await apply(reference, batch, true)).toEqual(expected);
    expect(await everything(store)).toEqual(await everything(reference));

    const emails = await rows(store, "clerk_user_email_addresses");
    expect(emails.map((r) => r.id)).toEqual(["e_f1", "e_n1", "e_o2", "e_r1"]);
    const users = await rows(store, "clerk_users");
    expect(
      users.map((u) => [u.id, u.first_name, Number(u.version), u.deleted_at === null ? null : Number(u.deleted_at)]),
    ).toEqual([
      ["user_fresh", "Fresh", 10, null],
      ["user_hard", null, 600, 600],
      ["user_newer", "Newer", 100, null],
      ["user_old", "Updated", 200, null],
      ["user_retry", "Retried", 5, null],
    ]);
    const deliveries = new Map((await rows(store, "clerk_webhook_events")).map((r) => [r.svix_id, r]));
    expect(deliveries.get("msg_f")).toMatchObject({ status: "applied", last_outcome: "applied", error_code: null });
    expect(Number(deliveries.get("msg_f")?.delivery_count)).toBe(2);
    expect(deliveries.get("msg_s6")).toMatchObject({ status: "applied", last_outcome: "duplicate" });
    expect(Number(deliveries.get("msg_s6")?.delivery_count)).toBe(2);
    const memberships = await rows(store, "clerk_organization_memberships");
    expect(memberships.map((m) => [m.id, m.role, Number(m.version), Number(m.deleted_at)])).toEqual([
      ["mem_1", "member", 150, 500],
      ["mem_2", "x", 10, 20],
    ]);
  });

  it("a batch written as if its rows were new finds them stored: nothing is written twice, outcomes as job by job", async () => {
    const store = subject();
    expect(await apply(store, [plan("msg_1", [user("user_1", 100, "One", [email("e_1", "user_1", true)])])])).toEqual([
      "applied",
    ]);
    const fallbacks = jobByJobBatches(store);
    const late = plan("msg_2", [user("user_1", 50, "Late", [email("e_2", "user_1", true)])]);
    expect(await apply(store, [late, plan("msg_3", [user("user_2", 1, "Two")])])).toEqual(["stale", "applied"]);
    expect(await apply(store, [late, plan("msg_4", [removal("clerk_users", "user_2", 5)])])).toEqual([
      "duplicate",
      "applied",
    ]);
    expect(fallbacks()).toBe(0);
    const users = await rows(store, "clerk_users");
    expect(
      users.map((u) => [u.id, u.first_name, Number(u.version), u.deleted_at === null ? null : Number(u.deleted_at)]),
    ).toEqual([
      ["user_1", "One", 100, null],
      ["user_2", "Two", 1, 5],
    ]);
    expect((await rows(store, "clerk_user_email_addresses")).map((r) => r.id)).toEqual(["e_1"]);
    const deliveries = await rows(store, "clerk_webhook_events");
    expect(deliveries.map((r) => [r.svix_id, r.status, r.last_outcome, Number(r.delivery_count)])).toEqual([
      ["msg_1", "applied", "applied", 1],
      ["msg_2", "stale", "duplicate", 2],
      ["msg_3", "applied", "applied", 1],
      ["msg_4", "applied", "applied", 1],
    ]);
  });

  it("a failing plan in a set-based batch fails alone and is recorded; the others commit", async () => {
    const store = subject();
    const results = await apply(store, [
      plan("msg_a", [user("user_a", 1, "A", [email("e_a", "user_a", true)])]),
      plan("msg_b", [user("user_b", 1, "B", [email("e_b", "user_b", true, null)])]),
      plan("msg_c", [entity("clerk_organizations", "org_c", 1, "C")]),
    ]);
    expect(results).toEqual(["applied", "unstorable_payload", "applied"]);
    expect((await rows(store, "clerk_users")).map((r) => r.id)).toEqual(["user_a"]);
    expect((await rows(store, "clerk_user_email_addresses")).map((r) => r.id)).toEqual(["e_a"]);
    expect((await rows(store, "clerk_organizations")).map((r) => r.id)).toEqual(["org_c"]);
    const deliveries = await rows(store, "clerk_webhook_events");
    expect(deliveries.map((r) => [r.svix_id, r.status, r.error_code])).toEqual([
      ["msg_a", "applied", null],
      ["msg_b", "failed", "unstorable_payload"],
      ["msg_c", "applied", null],
    ]);
    // The failed delivery's retry goes set-based again, and applies.
    const fallbacks = jobByJobBatches(store);
    expect(await apply(store, [plan("msg_b", [user("user_b", 1, "B", [email("e_b", "user_b", true)])])])).toEqual([
      "applied",
    ]);
    expect(fallbacks()).toBe(0);
  });

  // Row-locking databases only: SQLite's writers wait on its write lock (the busy timeout), not on rows.
  if (stores.locksRows)
    it("a set-based batch waits at most lockTimeoutMs on a row another receiver holds, then fails and writes nothing", async () => {
      const store = subject();
      const impatient = await stores.sibling(store, 300);
      const held = gate();
      const release = gate();
      // A delivery with a hook, job by job: it holds the lock on user_held until released.
      const holder = store.transaction(async (tx) => {
        await tx.claimDelivery(record("msg_hold", "user_held"));
        expect(await tx.readState("clerk_users", "user_held")).toBeUndefined();
        held.open();
        await release.promise;
        await tx.upsertEntity("clerk_users", "user_held", 10, { first_name: "Holder" });
        await tx.finishDelivery("msg_hold", "applied");
        return "applied";
      });
      await held.promise;
      const waiting = plan("msg_wait", [user("user_held", 20, "Waiter")]);
      const started = Date.now();
      const [timedOut] = await impatient.applyPlans([waiting]);
      const waited = Date.now() - started;
      release.open();
      expect(timedOut?.ok).toBe(false);
      expect(toStoreError(timedOut?.ok ? undefined : timedOut?.error).code).toBe("store_unavailable");
      // MySQL counts its lock wait timeout in whole seconds.
      expect(waited).toBeLessThan(4000);
      expect(await holder).toBe("applied");
      expect((await rows(store, "clerk_webhook_events")).map((r) => r.svix_id)).toEqual(["msg_hold"]);
      expect(await apply(impatient, [waiting])).toEqual(["applied"]);
      const [stored] = await rows(store, "clerk_users");
      expect([stored?.first_name, Number(stored?.version)]).toEqual(["Waiter", 20]);
    });

  it("two receivers apply plans for the same objects at once: each delivery once, the newest version wins", async () => {
    const store = subject();
    const twin = await stores.sibling(store);
    for (let round = 0; round < 8; round++) {
      const id = `user_${round}`;
      // Every other round, the same delivery also goes to both receivers.
      const same =
        round % 2 === 0 ? [plan(`msg_same_${round}`, [entity("clerk_organizations", `org_${round}`, 10, "Same")])] : [];
      const [a, b] = await Promise.all([
        apply(store, [
          plan(`msg_new_${round}`, [user(id, 200, "Newer", [email(`e_new_${round}`, id, true)])]),
          ...same,
        ]),
        apply(twin, [plan(`msg_old_${round}`, [user(id, 100, "Older", [email(`e_old_${round}`, id, true)])]), ...same]),
      ]);
      expect(a?.[0]).toBe("applied");
      expect(["applied", "stale"]).toContain(b?.[0]);
      const [stored] = (await rows(store, "clerk_users")).filter((u) => u.id === id);
      expect([stored?.first_name, Number(stored?.version)]).toEqual(["Newer", 200]);
      const emails = (await rows(store, "clerk_user_email_addresses")).filter((e) => e.user_id === id);
      expect(emails.map((e) => e.id)).toEqual([`e_new_${round}`]);
      for (const p of same) {
        expect([a?.[1], b?.[1]].sort()).toEqual(["applied", "duplicate"]);
        const [delivery] = (await rows(store, "clerk_webhook_events")).filter((r) => r.svix_id === p.record.svixId);
        expect(delivery).toMatchObject({ status: "applied", last_outcome: "duplicate" });
        expect(Number(delivery?.delivery_count)).toBe(2);
      }
    }
  });
}
