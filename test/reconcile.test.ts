/**
 * Reconciliation on SQLite, PostgreSQL and MariaDB, over real HTTP against the Backend API
 * stand-in: it finds exactly the planted differences (missing, stale, deleted in Clerk, never in
 * Clerk), repairs them with --apply through the sync rules while a webhook stream keeps
 * arriving at a real receiver on the same database, and leaves nothing to repair after.
 */
import { sql } from "kysely";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createClerkSyncListener } from "../src/adapters/node.js";
import {
  type ClerkApiClient,
  type ClerkApiStandIn,
  createClerkApiClient,
  startClerkApiStandIn,
} from "../src/clerk-api/index.js";
import { mapSnapshot } from "../src/core/mappers.js";
import { applySnapshot } from "../src/core/sync-rules.js";
import { type ClerkSync, createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { type Difference, reconcile } from "../src/reconcile/reconcile.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { SECRET, storeTargets } from "./helpers/api-tests.js";
import { describeTarget } from "./helpers/databases.js";
import { type Served, serveNode } from "./helpers/http-servers.js";

const TARGETS = await storeTargets();

const planted = (differences: readonly Difference[]) => differences.map((d) => `${d.problem} ${d.kind} ${d.id}`).sort();

for (const target of TARGETS) {
  describeTarget(target, `reconcile on ${target.name}`, () => {
    let store: ClerkSyncStore;
    let clerk: ClerkApiStandIn;
    let client: ClerkApiClient;
    const closing: (() => Promise<void>)[] = [];

    beforeEach(async () => {
      store = await target.fresh();
      await store.migrate();
      clerk = await startClerkApiStandIn({ users: 240, organizations: 6, rateLimit: false, seed: 7 });
      client = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, env: {}, rateLimit: false });
    });
    afterEach(async () => {
      for (const close of closing.splice(0).reverse()) await close();
      await clerk.close();
      await store.close();
    });

    /** A receiver on the same database behind node:http; the stand-in sends it every mutation's webhook. */
    const receiver = async (): Promise<string> => {
      const sync: ClerkSync = createClerkSync({ store: await target.sibling(store), secrets: [SECRET], env: {} });
      const served: Served = await serveNode(createClerkSyncListener(sync));
      closing.push(async () => {
        await served.close();
        await sync.close();
      });
      return `${served.url}/`;
    };

    it("an empty mirror: every object is missing; --apply inserts them all, and a second pass finds nothing", async () => {
      const dry = await reconcile({ store, client });
      const listed = dry.kinds.map((k) => [k.kind, k.listed, k.missing]);
      expect(listed.every(([, n, missing]) => n === missing && Number(n) > 0)).toBe(true);
      expect(await userCount(store)).toBe(0);
      const applied = await reconcile({ store, client, apply: true });
      expect(applied.differences.every((d) => d.problem === "missing" && d.repaired === "inserted")).toBe(true);
      expect((await reconcile({ store, client })).differences).toEqual([]);
      expect(await userCount(store)).toBe(240);
      // Each reconciliation is a run of its own, with its counts.
      const runs = await store.db.selectFrom("clerk_sync_runs").selectAll().where("kind", "=", "reconcile").execute();
      expect(runs.map((r) => r.status)).toEqual(["done", "done", "done"]);
      const stored = runs.find((r) => r.id === applied.runId)?.counts;
      // JSON columns come back parsed on PostgreSQL, as text elsewhere (docs/databases.md).
      const counts = (typeof stored === "string" ? JSON.parse(stored) : stored) as Record<string, { missing: number }>;
      expect(counts.users?.missing).toBe(240);
    });

    it("finds exactly the planted differences: missing, stale, deleted in Clerk, never in Clerk", async () => {
      await reconcile({ store, client, apply: true });
      const [gone, changed, dropped] = clerk
        .snapshot()
        .users.slice(10, 13)
        .map((u) => String(u.id));
      const organization = clerk.snapshot().organizations[0];
      const membership = (await client.listMembershipsPage({ limit: 1 })).data[0];
      if (!gone || !changed || !dropped || !organization || !membership) throw new Error("seed too small");

      clerk.deleteUser(gone); // deleted in Clerk, no webhook: the mirror still has the row
      clerk.updateUser(changed, { first_name: "Renamed" }); // newer in Clerk
      await sql`delete from ${sql.table("clerk_users")} where id = ${dropped}`.execute(store.db); // missing here
      clerk.updateOrganization(organization.id, { name: "Renamed Org" });
      clerk.deleteMembership(membership.id);
      const stranger = { ...clerk.snapshot().users[0], id: "user_never_in_clerk", updated_at: 1_700_000_000_000 };
      await store.transaction(async (tx) => {
        for (const m of mapSnapshot("user", stranger)) await applySnapshot(tx, m, false);
      });

      const report = await reconcile({ store, client });
      expect(planted(report.differences)).toEqual(
        [
          `deleted users ${gone}`,
          "deleted users user_never_in_clerk",
          `stale users ${changed}`,
          `missing users ${dropped}`,
          `stale organizations ${organization.id}`,
          `deleted memberships ${membership.id}`,
        ].sort(),
      );
      // The dry run wrote nothing.
      expect(await firstName(store, changed)).not.toBe("Renamed");

      const applied = await reconcile({ store, client, apply: true });
      expect(applied.differences.map((d) => d.repaired).sort()).toEqual(
        ["inserted", "tombstoned", "tombstoned", "tombstoned", "updated", "updated"].sort(),
      );
      expect(await firstName(store, changed)).toBe("Renamed");
      const tombstone = await store.db
        .selectFrom("clerk_users")
        .select(["deleted_at"])
        .where("id", "=", gone)
        .executeTakeFirst();
      expect(tombstone?.deleted_at).not.toBeNull();
      expect((await reconcile({ store, client })).differences).toEqual([]);
    });

    it("--apply while webhooks keep arriving converges: nothing left to repair, no error", async () => {
      await reconcile({ store, client, apply: true });
      // From now on every mutation also reaches the receiver as a signed webhook.
      await clerk.close();
      const data = clerk.snapshot();
      clerk = await startClerkApiStandIn({
        data,
        rateLimit: false,
        seed: 8,
        webhooks: { url: await receiver(), secret: SECRET },
      });
      client = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, env: {}, rateLimit: false });
      const users = data.users.map((u) => String(u.id));
      // Differences the webhooks never told the mirror about:
      await sql`delete from ${sql.table("clerk_users")} where id in (${sql.join(users.slice(0, 5))})`.execute(store.db);

      let stop = false;
      const stream = (async () => {
        for (let i = 0; !stop && i < 200; i++) {
          const id = users[(i * 7) % users.length] as string;
          if (i % 3 === 0) clerk.createUser({ first_name: `New ${i}` });
          else clerk.updateUser(id, { first_name: `Edit ${i}` });
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      const applied = await reconcile({ store, client, apply: true });
      stop = true;
      await stream;
      const deliveries = await clerk.webhooksSettled();
      expect(deliveries.length).toBeGreaterThan(0);
      expect(deliveries.every((d) => d.status === 200)).toBe(true);
      expect(applied.differences.filter((d) => d.problem === "missing").map((d) => d.id)).toEqual(
        expect.arrayContaining(users.slice(0, 5)),
      );
      expect((await reconcile({ store, client })).differences).toEqual([]);
    });
  });
}

async function userCount(store: ClerkSyncStore): Promise<number> {
  const row = await store.db
    .selectFrom("clerk_users")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function firstName(store: ClerkSyncStore, id: string): Promise<unknown> {
  const row = await store.db.selectFrom("clerk_users").select(["first_name"]).where("id", "=", id).executeTakeFirst();
  return row?.first_name;
}
