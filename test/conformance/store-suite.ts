import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DeliveryRecord, SyncTransaction } from "../../src/core/transaction.js";
import { migrationNames } from "../../src/store/migrations.js";
import type { ClerkSyncStore } from "../../src/store/store.js";

/** How a dialect's test file opens stores: `fresh` gives an empty database of its own. */
export interface StoreTarget {
  name: string;
  /** A store on a new, empty database. */
  fresh(): Promise<ClerkSyncStore>;
  /** Another connection (or process-like handle) to the same database as `store`. */
  sibling(store: ClerkSyncStore): Promise<ClerkSyncStore>;
}

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

/** Runs one job in its own batch and returns its value (or throws its error). */
async function inTx<T>(store: ClerkSyncStore, run: (tx: SyncTransaction) => Promise<T> | T): Promise<T> {
  const [result] = await store.runBatch([{ run: async (tx) => run(tx) }]);
  if (!result?.ok) throw result?.error;
  return result.value;
}

async function rows(store: ClerkSyncStore, table: string): Promise<Record<string, unknown>[]> {
  const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by 1`.execute(store.db);
  return rows;
}

/**
 * The store contract every dialect passes: migrations, delivery claims, the entity writes the
 * version guard relies on, children, and batches where one job fails alone.
 */
export function describeStoreConformance(target: StoreTarget): void {
  describe(`store conformance: ${target.name}`, () => {
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
      const results = await store.runBatch<string>([
        {
          run: async (tx) => {
            await tx.claimDelivery(record("msg_ok", { objectId: "user_2" }));
            await tx.upsertEntity("clerk_users", "user_2", 10, userValues("Ok"));
            await tx.finishDelivery("msg_ok", "applied");
            return "ok";
          },
        },
        {
          run: async (tx) => {
            await tx.claimDelivery(record("msg_bad"));
            await tx.upsertEntity("clerk_users", "user_1", 10, userValues("Bad"));
            throw new Error("hook exploded");
          },
          fail: (tx) => tx.recordFailure(record("msg_bad"), { code: "hook_failed", message: "hook exploded" }),
        },
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
      const job = (n: number) => ({
        run: async (tx: SyncTransaction) => {
          const claim = await tx.claimDelivery(record("msg_same"));
          if (claim === "duplicate") return "duplicate";
          await tx.upsertEntity("clerk_users", "user_1", n, userValues(`N${n}`));
          await tx.finishDelivery("msg_same", "applied");
          return "applied";
        },
      });
      const results = await store.runBatch([job(1), job(2)]);
      expect(results.map((r) => (r.ok ? r.value : "error"))).toEqual(["applied", "duplicate"]);
      const [user] = await rows(store, "clerk_users");
      expect(user?.first_name).toBe("N1");
    });

    it("answers ping, and refuses work after close", async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      const other = await target.fresh();
      await other.close();
      await expect(other.ping()).rejects.toBeDefined();
    });
  });
}
