import { sql } from "kysely";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ClerkSyncError, toStoreError } from "../../src/core/errors.js";
import type { Mutation } from "../../src/core/mappers.js";
import type {
  DeliveryJob,
  DeliveryPlan,
  DeliveryRecord,
  Settled,
  SyncTransaction,
} from "../../src/core/store-contract.js";
import { openMysqlStore } from "../../src/store/mysql/mysql-store.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import { findUserByEmail, findUserById } from "../../src/store/queries.js";
import { migrationNames } from "../../src/store/schema/migrations.js";
import type { ClerkSyncStore } from "../../src/store/store.js";
import { describeTarget, type StoreTarget } from "../helpers/databases.js";
import { describePlanBatchConformance } from "./plan-batch-suite.js";

export type { StoreTarget } from "../helpers/databases.js";

const record = (svixId: string, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord => ({
  svixId,
  type: "user.updated",
  objectType: "user",
  objectId: "user_1",
  eventTimestamp: 1_700_000_000_000,
  receivedAt: 1_700_000_000_500,
  payload: '{"type":"user.updated"}',
  ...overrides,
});

const userValues = (firstName: string) => ({
  first_name: firstName,
  banned: true,
  public_metadata: { plan: "pro", n: 1 },
  created_at: 1_600_000_000_000,
  updated_at: 1_700_000_000_000,
  data: { id: "user_1", first_name: firstName },
});

/** Runs `run` in one transaction of the store and returns its value (or throws its error). */
function inTx<T>(store: ClerkSyncStore, run: (tx: SyncTransaction) => Promise<T> | T): Promise<T> {
  return store.transaction(async (tx) => run(tx));
}

/** A transaction's result as a batch answers it. */
async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The upsert of `user_1`-like rows a delivery plan carries. */
const userUpsert = (id: string, version: number, firstName: string): Mutation => ({
  op: "upsert",
  table: "clerk_users",
  id,
  version,
  values: userValues(firstName),
  children: [],
});

/** A delivery with hooks: `hook` runs in its transaction after its mutations, before its outcome is recorded. */
function hooked<Db>(plan: DeliveryPlan, hook: (db: Db) => Promise<void> = async () => {}): DeliveryJob<Db> {
  return { plan, beforeFinish: (db) => hook(db) };
}

async function rows(store: ClerkSyncStore, table: string): Promise<Record<string, unknown>[]> {
  const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by 1`.execute(store.db);
  return rows;
}

/** A promise with its resolve function, to hold a job at a chosen point. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `promise` is still pending after `ms`. */
async function stillPending(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const pending = Symbol("pending");
  return (await Promise.race([promise.then(() => undefined), delay(ms).then(() => pending)])) === pending;
}

/**
 * The store contract every dialect passes: migrations, delivery claims, the entity writes the
 * version guard relies on, children, batches where one job fails alone, and two receivers
 * (two stores on one database) racing for the same delivery and the same rows.
 */
export function describeStoreConformance(target: StoreTarget): void {
  describeTarget(target, `store conformance: ${target.name}`, () => {
    let store: ClerkSyncStore;
    const extra: ClerkSyncStore[] = [];

    beforeEach(async () => {
      store = await target.fresh();
      await store.migrate();
    });
    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await store.close();
    });

    it("migrates once; a second run and a concurrent run find nothing to do", async () => {
      expect(await store.pendingMigrations()).toEqual([]);
      expect((await store.migrate()).applied).toEqual([]);
      const other = await target.fresh();
      extra.push(other);
      const twin = await target.sibling(other);
      extra.push(twin);
      expect(await other.pendingMigrations()).toEqual(migrationNames(other.dialect));
      const results = await Promise.all([other.migrate(), twin.migrate()]);
      expect(results.flatMap((r) => r.applied).sort()).toEqual(migrationNames(other.dialect).sort());
      expect(await twin.pendingMigrations()).toEqual([]);
    });

    it("claims a delivery id once: new, then duplicate with the count bumped", async () => {
      const first = await inTx(store, async (tx) => {
        const claim = await tx.claimDelivery(record("msg_1"));
        await tx.finishDelivery("msg_1", "applied");
        return claim;
      });
      expect(first).toBe("new");
      const second = await inTx(store, (tx) => tx.claimDelivery(record("msg_1", { receivedAt: 1_700_000_009_000 })));
      expect(second).toBe("duplicate");
      const [row] = await rows(store, "clerk_webhook_events");
      expect(row).toMatchObject({
        svix_id: "msg_1",
        status: "applied",
        last_outcome: "duplicate",
        type: "user.updated",
        object_id: "user_1",
      });
      expect(Number(row?.delivery_count)).toBe(2);
      expect(Number(row?.first_received_at)).toBe(1_700_000_000_500);
      expect(Number(row?.last_received_at)).toBe(1_700_000_009_000);
      expect(row?.payload).toBe('{"type":"user.updated"}');
    });

    it("a failed job leaves no effect, is recorded as failed, and its retry is processed", async () => {
      const results = await store.applyJobs([
        hooked({
          record: record("msg_ok", { objectId: "user_2" }),
          hard: false,
          mutations: [userUpsert("user_2", 10, "Ok")],
        }),
        hooked({ record: record("msg_bad"), hard: false, mutations: [userUpsert("user_1", 10, "Bad")] }, async () => {
          throw new ClerkSyncError("hook_failed", "hook exploded");
        }),
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, false]);
      expect((await rows(store, "clerk_users")).map((r) => r.id)).toEqual(["user_2"]);
      const failed = (await rows(store, "clerk_webhook_events")).find((r) => r.svix_id === "msg_bad");
      expect(failed).toMatchObject({ status: "failed", error_code: "hook_failed" });

      const retry = await inTx(store, async (tx) => {
        const claim = await tx.claimDelivery(record("msg_bad"));
        await tx.finishDelivery("msg_bad", "applied");
        return claim;
      });
      expect(retry).toBe("retry");
      const done = (await rows(store, "clerk_webhook_events")).find((r) => r.svix_id === "msg_bad");
      expect(done).toMatchObject({ status: "applied", error_code: null });
      expect(Number(done?.delivery_count)).toBe(2);
    });

    it("upserts data and version, reads state, and keeps deleted_at on later upserts", async () => {
      expect(await inTx(store, (tx) => tx.readState("clerk_users", "user_1"))).toBeUndefined();
      await inTx(store, (tx) => tx.upsertEntity("clerk_users", "user_1", 100, userValues("Ann")));
      expect(await inTx(store, (tx) => tx.readState("clerk_users", "user_1"))).toEqual({
        version: 100,
        deletedAt: null,
      });
      await inTx(store, (tx) => tx.markDeleted("clerk_users", "user_1", 150, false));
      await inTx(store, (tx) => tx.upsertEntity("clerk_users", "user_1", 200, userValues("Bea")));
      expect(await inTx(store, (tx) => tx.readState("clerk_users", "user_1"))).toEqual({
        version: 200,
        deletedAt: 150,
      });
      const [user] = await rows(store, "clerk_users");
      expect(user?.first_name).toBe("Bea");
    });

    it("stores JSON, booleans and millisecond times faithfully", async () => {
      await inTx(store, (tx) => tx.upsertEntity("clerk_users", "user_1", 1_716_883_200_123, userValues("Ann")));
      const [user] = await rows(store, "clerk_users");
      const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);
      expect(json(user?.public_metadata)).toEqual({ plan: "pro", n: 1 });
      expect(json(user?.data)).toEqual({ id: "user_1", first_name: "Ann" });
      expect(Boolean(user?.banned)).toBe(true);
      expect(user?.private_metadata).toBeNull();
      expect(Number(user?.version)).toBe(1_716_883_200_123);
      expect(Number(user?.created_at)).toBe(1_600_000_000_000);
    });

    it("writes a `data` given as JSON text as it is, on the job and the plan paths; other JSON columns encode strings", async () => {
      const text = '{"id":"user_1","first_name":"Zo\\u00eb","note":"a } and a \\" inside"}';
      const expected = { id: "user_1", first_name: "Zoë", note: 'a } and a " inside' };
      const values = { ...userValues("Zoë"), data: text, public_metadata: "plain" };
      await inTx(store, (tx) => tx.upsertEntity("clerk_users", "user_1", 100, values));
      const plan: DeliveryPlan = {
        record: record("msg_text", { objectId: "user_2" }),
        hard: false,
        mutations: [{ op: "upsert", table: "clerk_users", id: "user_2", version: 100, values, children: [] }],
      };
      const [result] = await store.applyPlans([plan]);
      expect(result).toEqual({ ok: true, value: "applied" });
      // PostgreSQL's driver parses JSON columns; the others answer their text.
      const json = (v: unknown) => (store.dialect.types.parsesJson || typeof v !== "string" ? v : JSON.parse(v));
      const users = await rows(store, "clerk_users");
      expect(users.map((u) => [u.id, json(u.data), json(u.public_metadata)])).toEqual([
        ["user_1", expected, "plain"],
        ["user_2", expected, "plain"],
      ]);
    });

    it("soft delete keeps data; hard delete clears it; both keep the later deletion time", async () => {
      await inTx(store, async (tx) => {
        await tx.upsertEntity("clerk_users", "user_1", 100, userValues("Ann"));
        await tx.upsertEntity("clerk_users", "user_2", 100, userValues("Bob"));
        await tx.markDeleted("clerk_users", "user_1", 300, false);
        await tx.markDeleted("clerk_users", "user_1", 200, false);
        await tx.markDeleted("clerk_users", "user_2", 300, true);
        await tx.markDeleted("clerk_users", "user_3", 400, false);
      });
      const [soft, hard, bare] = await rows(store, "clerk_users");
      expect(soft).toMatchObject({ id: "user_1", first_name: "Ann" });
      expect(Number(soft?.deleted_at)).toBe(300);
      expect(Number(soft?.version)).toBe(100);
      expect(hard).toMatchObject({ id: "user_2", first_name: null, data: null, public_metadata: null });
      expect(Number(hard?.deleted_at)).toBe(300);
      expect(Number(hard?.version)).toBe(300);
      expect(bare).toMatchObject({ id: "user_3", first_name: null });
      expect(Number(bare?.version)).toBe(0);
      expect(Number(bare?.deleted_at)).toBe(400);
    });

    it("replaces a parent's children and deletes them", async () => {
      const email = (id: string, primary: boolean) => ({
        id,
        user_id: "user_1",
        email_address: `${id}@example.com`,
        verification_status: "verified",
        is_primary: primary,
      });
      await inTx(store, (tx) =>
        tx.replaceChildren({
          table: "clerk_user_email_addresses",
          parentId: "user_1",
          rows: [email("a", true), email("b", false)],
        }),
      );
      await inTx(store, (tx) =>
        tx.replaceChildren({
          table: "clerk_user_email_addresses",
          parentId: "user_1",
          rows: [email("b", true), email("c", false)],
        }),
      );
      const current = await rows(store, "clerk_user_email_addresses");
      expect(current.map((r) => [r.id, Boolean(r.is_primary)])).toEqual([
        ["b", true],
        ["c", false],
      ]);
      await inTx(store, (tx) => tx.deleteChildren("clerk_user_email_addresses", "user_1"));
      expect(await rows(store, "clerk_user_email_addresses")).toEqual([]);
    });

    it("a delivery claimed twice in one batch applies once", async () => {
      const job = (n: number) =>
        hooked({ record: record("msg_same"), hard: false, mutations: [userUpsert("user_1", n, `N${n}`)] });
      const results = await store.applyJobs([job(1), job(2)]);
      expect(results.map((r) => (r.ok ? r.value : "error"))).toEqual(["applied", "duplicate"]);
      const [user] = await rows(store, "clerk_users");
      expect(user?.first_name).toBe("N1");
    });

    it("plan jobs (deliveries without hooks) apply as applyDelivery does; a failing one fails alone", async () => {
      const user = (svixId: string, version: number, firstName: string, email: string | null): DeliveryPlan => ({
        record: record(svixId, { objectId: "user_p" }),
        hard: false,
        mutations: [
          {
            op: "upsert",
            table: "clerk_users",
            id: "user_p",
            version,
            values: { ...userValues(firstName), primary_email_address: email },
            children: [
              {
                table: "clerk_user_email_addresses",
                parentId: "user_p",
                // email_address is NOT NULL: a null makes the job fail inside the database.
                rows: [{ id: `idn_${version}`, user_id: "user_p", email_address: email, is_primary: true }],
              },
            ],
          },
        ],
      });
      const plans = [
        user("msg_p1", 200, "New", "new@example.com"),
        user("msg_p1", 200, "New", "new@example.com"),
        user("msg_p2", 100, "Old", "old@example.com"),
        user("msg_p3", 300, "Broken", null),
        { record: record("msg_p4", { type: "email.created", objectId: null }), hard: false, mutations: [] },
      ];
      const results = await store.applyPlans(plans);
      expect(results.map((r) => (r.ok ? r.value : toStoreError(r.error).code))).toEqual([
        "applied",
        "duplicate",
        "stale",
        "unstorable_payload",
        "ignored",
      ]);
      expect(await rows(store, "clerk_users")).toMatchObject([
        { id: "user_p", first_name: "New", primary_email_address: "new@example.com" },
      ]);
      expect((await rows(store, "clerk_user_email_addresses")).map((r) => r.email_address)).toEqual([
        "new@example.com",
      ]);
      const deliveries = await rows(store, "clerk_webhook_events");
      expect(deliveries.map((r) => [r.svix_id, r.status, r.error_code])).toEqual([
        ["msg_p1", "applied", null],
        ["msg_p2", "stale", null],
        ["msg_p3", "failed", "unstorable_payload"],
        ["msg_p4", "ignored", null],
      ]);
      expect(Number(deliveries[0]?.delivery_count)).toBe(2);
    });

    it("readState of an absent id: a deletion then leaves a bare tombstone, a rolled-back job leaves nothing", async () => {
      await inTx(store, async (tx) => {
        expect(await tx.readState("clerk_users", "user_9")).toBeUndefined();
        await tx.markDeleted("clerk_users", "user_9", 500, false);
      });
      expect(await inTx(store, (tx) => tx.readState("clerk_users", "user_9"))).toEqual({ version: 0, deletedAt: 500 });
      const result = await settle(
        inTx(store, async (tx) => {
          expect(await tx.readState("clerk_users", "user_8")).toBeUndefined();
          throw new Error("rolled back");
        }),
      );
      expect(result?.ok).toBe(false);
      expect((await rows(store, "clerk_users")).map((r) => r.id)).toEqual(["user_9"]);
      expect(await inTx(store, (tx) => tx.readState("clerk_users", "user_8"))).toBeUndefined();
      await inTx(store, async (tx) => {
        expect(await tx.readState("clerk_users", "user_8")).toBeUndefined();
        await tx.upsertEntity("clerk_users", "user_8", 7, userValues("Eve"));
      });
      expect(await inTx(store, (tx) => tx.readState("clerk_users", "user_8"))).toEqual({ version: 7, deletedAt: null });
    });

    it("a failure never overwrites a processed delivery: the attempt is only counted", async () => {
      await inTx(store, async (tx) => {
        await tx.claimDelivery(record("msg_done"));
        await tx.finishDelivery("msg_done", "applied");
      });
      await inTx(store, (tx) => tx.recordFailure(record("msg_done"), { code: "hook_failed", message: "late" }));
      const [row] = await rows(store, "clerk_webhook_events");
      expect(row).toMatchObject({ status: "applied", error_code: null, error_message: null });
      expect(Number(row?.delivery_count)).toBe(2);
    });

    it("tx.db runs on the job's transaction: its writes are seen by the job and roll back with it", async () => {
      const email = (id: string) => ({
        id,
        user_id: "user_1",
        email_address: `${id}@example.com`,
        verification_status: null,
        is_primary: 0,
      });
      let seen: number | undefined;
      const ignored = (svixId: string): DeliveryPlan => ({
        record: record(svixId, { type: "email.created", objectId: null }),
        hard: false,
        mutations: [],
      });
      const results = await store.applyJobs([
        hooked(ignored("msg_kept"), async (db: ClerkSyncStore["db"]) => {
          await db.insertInto("clerk_user_email_addresses").values(email("kept")).execute();
          seen = (await db.selectFrom("clerk_user_email_addresses").select("id").execute()).length;
        }),
        hooked(ignored("msg_dropped"), async (db: ClerkSyncStore["db"]) => {
          await db.insertInto("clerk_user_email_addresses").values(email("dropped")).execute();
          throw new Error("hook exploded");
        }),
      ]);
      expect(results.map((r) => (r.ok ? seen : "failed"))).toEqual([1, "failed"]);
      expect((await rows(store, "clerk_user_email_addresses")).map((r) => r.id)).toEqual(["kept"]);
    });

    it("two receivers claim the same delivery at once: the second waits, then sees a duplicate", async () => {
      const twin = await target.sibling(store);
      extra.push(twin);
      const claimed = gate();
      const finish = gate();
      // The first holds its claim (and the row) until `finish`: its hook waits after the upsert.
      const delivery = (name: string, receivedAt: number): DeliveryPlan => ({
        record: record("msg_race", { receivedAt }),
        hard: false,
        mutations: [userUpsert("user_1", 10, name)],
      });
      const first = store.applyJobs([
        hooked(delivery("First", 1), async () => {
          claimed.open();
          await finish.promise;
        }),
      ]);
      await claimed.promise;
      const second = twin.applyPlans([delivery("Second", 2)]);
      const waited = await stillPending(second, 150);
      finish.open();
      expect(waited).toBe(true);
      const [a, b] = await Promise.all([first, second]);
      expect([a?.[0], b?.[0]]).toEqual([
        { ok: true, value: "applied" },
        { ok: true, value: "duplicate" },
      ]);
      const [row] = await rows(store, "clerk_webhook_events");
      expect(row).toMatchObject({ status: "applied", last_outcome: "duplicate" });
      expect(Number(row?.delivery_count)).toBe(2);
      expect((await rows(store, "clerk_users"))[0]?.first_name).toBe("First");
    });

    it("two receivers claim the same delivery at once and the first fails: the second applies it", async () => {
      const twin = await target.sibling(store);
      extra.push(twin);
      const claimed = gate();
      const finish = gate();
      const delivery = (name: string): DeliveryPlan => ({
        record: record("msg_race"),
        hard: false,
        mutations: [userUpsert("user_1", 10, name)],
      });
      const first = store.applyJobs([
        hooked(delivery("First"), async () => {
          claimed.open();
          await finish.promise;
          throw new ClerkSyncError("hook_failed", "hook exploded");
        }),
      ]);
      await claimed.promise;
      const second = twin.applyJobs([hooked(delivery("Second"))]);
      const waited = await stillPending(second, 150);
      finish.open();
      expect(waited).toBe(true);
      const [[a], [b]] = await Promise.all([first, second]);
      expect(a?.ok).toBe(false);
      // PostgreSQL lets the second claim through when the first delivery's savepoint rolls back
      // (a new claim); elsewhere it waits for the first commit and finds the failure (a retry).
      // Either way the second applies it.
      expect(b).toEqual({ ok: true, value: "applied" });
      const [row] = await rows(store, "clerk_webhook_events");
      expect(row).toMatchObject({ status: "applied", error_code: null });
      expect(Number(row?.delivery_count)).toBe(2);
      expect((await rows(store, "clerk_users"))[0]?.first_name).toBe("Second");
    });

    it("two receivers write versions of one new object at once: the newer wins whichever commits first", async () => {
      const twin = await target.sibling(store);
      extra.push(twin);
      const guarded = (version: number, name: string, hold?: { locked: () => void; wait: Promise<void> }) =>
        settle(
          (hold ? store : twin).transaction(async (tx) => {
            // The engine's version guard, on a row that does not exist yet.
            const state = await tx.readState("clerk_users", "user_new");
            hold?.locked();
            await hold?.wait;
            if (state && version < state.version) return "stale";
            await tx.upsertEntity("clerk_users", "user_new", version, userValues(name));
            return "applied";
          }),
        );
      const locked = gate();
      const release = gate();
      const newer = guarded(200, "Newer", { locked: locked.open, wait: release.promise });
      await locked.promise;
      const older = guarded(100, "Older");
      const waited = await stillPending(older, 150);
      release.open();
      expect(waited).toBe(true);
      const [a, b] = await Promise.all([newer, older]);
      expect([a, b]).toEqual([
        { ok: true, value: "applied" },
        { ok: true, value: "stale" },
      ]);
      const [user] = await rows(store, "clerk_users");
      expect(user?.first_name).toBe("Newer");
      expect(Number(user?.version)).toBe(200);
    });

    it("two receivers lock the same rows in opposite orders: both batches commit (a deadlock is retried)", async () => {
      const twin = await target.sibling(store);
      extra.push(twin);
      const aLocked = gate();
      const bLocked = gate();
      const writeBoth = (
        on: ClerkSyncStore,
        first: string,
        second: string,
        name: string,
        signal: () => void,
        wait: Promise<void>,
      ) =>
        settle(
          on.transaction(async (tx) => {
            const a = await tx.readState("clerk_users", first);
            signal();
            // SQLite lets one writer in at a time: the other cannot signal until this one commits.
            await Promise.race([wait, delay(300)]);
            const b = await tx.readState("clerk_users", second);
            await tx.upsertEntity("clerk_users", first, (a?.version ?? 0) + 1, userValues(name));
            await tx.upsertEntity("clerk_users", second, (b?.version ?? 0) + 1, userValues(name));
            return name;
          }),
        );
      const one = writeBoth(store, "user_a", "user_b", "One", aLocked.open, bLocked.promise);
      await aLocked.promise;
      const two = writeBoth(twin, "user_b", "user_a", "Two", bLocked.open, aLocked.promise);
      const [x, y] = await Promise.all([one, two]);
      expect([x?.ok, y?.ok]).toEqual([true, true]);
      const users = await rows(store, "clerk_users");
      expect(users.map((u) => [u.id, Number(u.version)])).toEqual([
        ["user_a", 2],
        ["user_b", 2],
      ]);
    });

    it("applySnapshots: a page's outcomes are applySnapshot's, its checkpoint commits with it, a failing one leaves nothing", async () => {
      await inTx(store, async (tx) => {
        await tx.upsertEntity("clerk_users", "user_a", 100, userValues("A"));
        await tx.upsertEntity("clerk_users", "user_old", 300, userValues("Newer"));
        await tx.upsertEntity("clerk_users", "user_same", 50, userValues("Same"));
        await tx.upsertEntity("clerk_users", "user_dead", 100, userValues("Dead"));
        await tx.markDeleted("clerk_users", "user_dead", 500, false);
      });
      const page = [
        userUpsert("user_new", 10, "New"),
        userUpsert("user_a", 200, "A2"),
        userUpsert("user_old", 100, "Older"),
        userUpsert("user_same", 50, "Same"),
        userUpsert("user_dead", 400, "Back?"),
      ];
      const outcomes = await store.applySnapshots(page, {
        hard: false,
        checkpoint: async (seen, db) => {
          await db
            .insertInto("clerk_sync_runs")
            .values({
              id: "run_checkpoint",
              kind: "backfill",
              objects: "users",
              status: "running",
              current: "users",
              cursor: null,
              counts: JSON.stringify({ seen: seen.length }),
              started_at: 1,
              updated_at: 1,
              finished_at: null,
              error_code: null,
              error_message: null,
            })
            .execute();
        },
      });
      expect(outcomes).toEqual(["inserted", "updated", "stale", "unchanged", "stale"]);
      const users = await rows(store, "clerk_users");
      expect(users.map((u) => [u.id, u.first_name, Number(u.version), u.deleted_at === null])).toEqual([
        ["user_a", "A2", 200, true],
        ["user_dead", "Back?", 400, false], // newer data, still deleted (the soft tombstone rule)
        ["user_new", "New", 10, true],
        ["user_old", "Newer", 300, true],
        ["user_same", "Same", 50, true],
      ]);
      expect((await rows(store, "clerk_sync_runs")).map((r) => r.id)).toEqual(["run_checkpoint"]);

      const failing = store.applySnapshots([userUpsert("user_z", 10, "Z")], {
        hard: false,
        checkpoint: async () => {
          throw new Error("checkpoint failed");
        },
      });
      await expect(failing).rejects.toBeDefined();
      expect((await rows(store, "clerk_users")).map((u) => u.id)).not.toContain("user_z");
    });

    it("the exported queries return the same normalised rows on every database", async () => {
      await inTx(store, async (tx) => {
        await tx.upsertEntity("clerk_users", "user_1", 100, userValues("Ann"));
        await tx.replaceChildren({
          table: "clerk_user_email_addresses",
          parentId: "user_1",
          rows: [
            {
              id: "idn_1",
              user_id: "user_1",
              email_address: "ann@example.com",
              verification_status: null,
              is_primary: true,
            },
          ],
        });
      });
      const expected = {
        id: "user_1",
        version: 100,
        deleted_at: null,
        first_name: "Ann",
        banned: true,
        locked: null,
        public_metadata: { plan: "pro", n: 1 },
        private_metadata: null,
        created_at: 1_600_000_000_000,
        updated_at: 1_700_000_000_000,
        data: { id: "user_1", first_name: "Ann" },
      };
      expect(await findUserById(store, "user_1")).toMatchObject(expected);
      expect(await findUserByEmail(store, " Ann@Example.com ")).toMatchObject(expected);
      await inTx(store, (tx) => tx.markDeleted("clerk_users", "user_1", 200, false));
      expect(await findUserById(store, "user_1")).toBeUndefined();
      expect(await findUserById(store, "user_1", { includeDeleted: true })).toMatchObject({ deleted_at: 200 });
    });

    /** A receiver on the database of `of` (a network one) that waits at most `lockTimeoutMs` for a row lock. */
    async function impatientSibling(of: ClerkSyncStore, lockTimeoutMs: number): Promise<ClerkSyncStore> {
      const url = target.url?.(of);
      if (url === undefined) throw new Error(`${target.name} has no URL for another process`);
      if (of.dialect.name === "postgres") return openPostgresStore({ url, lockTimeoutMs });
      return openMysqlStore({ url, lockTimeoutMs });
    }

    describePlanBatchConformance({
      subject: () => store,
      fresh: async () => {
        const other = await target.fresh();
        extra.push(other);
        return other;
      },
      sibling: async (of, lockTimeoutMs) => {
        const twin = lockTimeoutMs === undefined ? await target.sibling(of) : await impatientSibling(of, lockTimeoutMs);
        extra.push(twin);
        return twin;
      },
      locksRows: target.url !== undefined,
    });

    it("answers ping, and refuses work after close", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      const other = await target.fresh();
      await other.close();
      await expect(other.ping()).rejects.toBeDefined();
    });
  });
}
