/**
 * The sign-up race (ensureUser / ensureOrganization) on SQLite, PostgreSQL and MariaDB, over real
 * HTTP: the Backend API is the local stand-in, webhooks reach a real receiver (createClerkSync
 * behind node:http) on the same database. Requests are counted by the stand-in, never timed.
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { createClerkSyncListener } from "../src/adapters/node.js";
import {
  type ClerkApiClient,
  type ClerkApiStandIn,
  type ClerkApiStandInOptions,
  createClerkApiClient,
  startClerkApiStandIn,
} from "../src/clerk-api/index.js";
import { isClerkSyncError } from "../src/core/errors.js";
import { ensureOrganization, ensureUser, type ReadThroughSource } from "../src/read-through/ensure.js";
import { type ClerkSync, createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { findUserById } from "../src/store/queries.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { deliver, failure, SECRET, storeTargets } from "./helpers/api-tests.js";
import { describeTarget } from "./helpers/databases.js";
import { type Served, serveNode } from "./helpers/http-servers.js";

const TARGETS = await storeTargets();

/** A user's email rows, ordered. */
async function emailRows(store: ClerkSyncStore, userId: string) {
  return store.db
    .selectFrom("clerk_user_email_addresses")
    .select(["id", "user_id", "email_address", "verification_status", "is_primary"])
    .where("user_id", "=", userId)
    .orderBy("id")
    .execute();
}

async function countRows(store: ClerkSyncStore, table: "clerk_users" | "clerk_organizations", id?: string) {
  let query = store.db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as("n"));
  if (id !== undefined) query = query.where("id", "=", id);
  return Number((await query.executeTakeFirstOrThrow()).n);
}

for (const target of TARGETS) {
  describeTarget(target, `ensureUser on ${target.name}`, () => {
    let store: ClerkSyncStore;
    /** Stores closed after each test (the receivers close their own). */
    let opened: ClerkSyncStore[];
    let receivers: { sync: ClerkSync; served: Served }[];
    let standIns: ClerkApiStandIn[];

    beforeEach(async () => {
      store = await target.fresh();
      await store.migrate();
      opened = [store];
      receivers = [];
      standIns = [];
    });
    afterEach(async () => {
      for (const { sync, served } of receivers) {
        await served.close();
        await sync.close();
      }
      await Promise.all(standIns.map((s) => s.close()));
      await Promise.all(opened.map((s) => s.close()));
    });

    /** A store of its own on the same database (another process's connections). */
    const sibling = async (of = store) => {
      const other = await target.sibling(of);
      opened.push(other);
      return other;
    };

    /** A receiver on the database of `of` (through a store of its own), behind node:http. */
    const receiver = async (of = store) => {
      const sync = createClerkSync({ store: await target.sibling(of), secrets: [SECRET], env: {} });
      const served = await serveNode(createClerkSyncListener(sync));
      receivers.push({ sync, served });
      return served.url;
    };

    const standIn = async (options: ClerkApiStandInOptions = {}) => {
      const s = await startClerkApiStandIn({ rateLimit: false, ...options });
      standIns.push(s);
      return s;
    };

    const clientOf = (s: ClerkApiStandIn): ClerkApiClient =>
      createClerkApiClient({ apiUrl: s.url, secretKey: s.secretKey, env: {}, rateLimit: false, retryDelayMs: 1 });

    const lookups = (s: ClerkApiStandIn) => s.stats().byRoute["/v1/users/{id}"] ?? 0;

    it("a missing user is fetched, written through the sync rules, and returned as findUserById reads it", async () => {
      const clerk = await standIn();
      const user = clerk.createUser({ first_name: "Ann", email_addresses: ["ann@example.com", "a2@example.com"] });
      const row = await ensureUser({ store, client: clientOf(clerk) }, user.id);
      expect(row).not.toBeNull();
      expect(row).toEqual(await findUserById(store, user.id));
      expect(row).toMatchObject({ id: user.id, first_name: "Ann", updated_at: user.updated_at, deleted_at: null });
      expect(row?.primary_email_address).toBe("ann@example.com");
      expect((await emailRows(store, user.id)).map((e) => e.email_address).sort()).toEqual([
        "a2@example.com",
        "ann@example.com",
      ]);
      expect(lookups(clerk)).toBe(1);
    });

    it("a mirrored user is returned without any API request", async () => {
      const clerk = await standIn();
      const user = clerk.createUser({ first_name: "Bo" });
      const source = { store, client: clientOf(clerk) };
      const first = await ensureUser(source, user.id);
      clerk.resetStats();
      // Clerk changed meanwhile: a mirrored row is the webhook's business, not read-through's.
      clerk.updateUser(user.id, { first_name: "Changed" });
      const again = await ensureUser(source, user.id);
      expect(again).toEqual(first);
      expect(again?.first_name).toBe("Bo");
      expect(clerk.stats().requests).toBe(0);
    });

    it("an unknown user is null and writes nothing", async () => {
      const clerk = await standIn();
      expect(await ensureUser({ store, client: clientOf(clerk) }, "user_doesnotexist")).toBeNull();
      expect(await countRows(store, "clerk_users")).toBe(0);
      expect(clerk.stats().byStatus).toEqual({ "404": 1 });
    });

    it("a deleted (tombstoned) user is null, without refetching, even while Clerk still answers it", async () => {
      const clerk = await standIn();
      const user = clerk.createUser();
      const url = await receiver();
      // The deletion webhook, as Clerk sends it; the stand-in still has the user.
      const deleted = {
        object: "event",
        type: "user.deleted",
        timestamp: Date.now(),
        data: { id: user.id, deleted: true, object: "user" },
      };
      expect(await deliver(url, deleted)).toBe(200);
      expect(await ensureUser({ store, client: clientOf(clerk) }, user.id)).toBeNull();
      expect(clerk.stats().requests).toBe(0);
      const tombstone = await findUserById(store, user.id, { includeDeleted: true });
      expect(tombstone?.deleted_at).not.toBeNull();
    });

    it("a newer user.updated already applied is returned as it is: not missing, not overwritten", async () => {
      const url = await receiver();
      const clerk = await standIn({ webhooks: { url, secret: SECRET } });
      const user = clerk.createUser({ first_name: "Old" });
      const updated = clerk.updateUser(user.id, { first_name: "New" });
      const sent = await clerk.webhooksSettled();
      expect(sent.map((d) => [d.type, d.status])).toEqual([
        ["user.created", 200],
        ["user.updated", 200],
      ]);
      clerk.resetStats();
      const row = await ensureUser({ store, client: clientOf(clerk) }, user.id);
      expect(row).toMatchObject({ first_name: "New", updated_at: updated.updated_at });
      expect(clerk.stats().requests).toBe(0);
    });

    it("50 concurrent calls from two stores race the signed user.created webhook: one row, no error, 2xx, the webhook's row", async () => {
      const url = await receiver();
      const clerk = await standIn({ webhooks: { url, secret: SECRET } });
      const stores = [store, await sibling()];
      for (let round = 0; round < 3; round++) {
        const user = clerk.createUser({ email_addresses: [`r${round}@example.com`, `r${round}b@example.com`] });
        // A client per call: no in-process sharing, so each call fetches and writes for itself.
        const sources: ReadThroughSource[] = Array.from({ length: 50 }, (_, i) => ({
          store: stores[i % 2] as ClerkSyncStore,
          client: clientOf(clerk),
        }));
        const results = await Promise.all(sources.map((source) => ensureUser(source, user.id)));
        const [delivery] = (await clerk.webhooksSettled()).filter((d) => d.objectId === user.id);
        expect(delivery?.status).toBe(200);

        const row = await findUserById(store, user.id);
        for (const result of results) expect(result).toEqual(row);
        expect(await countRows(store, "clerk_users", user.id)).toBe(1);
        expect(await emailRows(store, user.id)).toHaveLength(2);

        // What the webhook alone writes: the same delivery, as recorded, into a database of its own.
        const recorded = await store.db
          .selectFrom("clerk_webhook_events")
          .select("payload")
          .where("svix_id", "=", delivery?.svixId as string)
          .executeTakeFirstOrThrow();
        const alone = await target.fresh();
        opened.push(alone);
        await alone.migrate();
        expect(await deliver(await receiver(alone), String(recorded.payload))).toBe(200);
        expect(row).toEqual(await findUserById(alone, user.id));
        expect(await emailRows(store, user.id)).toEqual(await emailRows(alone, user.id));
      }
    });

    it("concurrent calls for one id in one process share one fetch", async () => {
      const clerk = await standIn();
      const user = clerk.createUser();
      const source = { store, client: clientOf(clerk) };
      const results = await Promise.all(Array.from({ length: 20 }, () => ensureUser(source, user.id)));
      expect(new Set(results.map((r) => r?.id))).toEqual(new Set([user.id]));
      expect(lookups(clerk)).toBe(1);
    });

    it("ensureOrganization by id and by slug; null for an unknown one", async () => {
      const clerk = await standIn();
      const org = clerk.createOrganization({ name: "Acme", slug: "acme" });
      const source = { store, client: clientOf(clerk) };
      expect(await ensureOrganization(source, "acme")).toMatchObject({ id: org.id, slug: "acme", deleted_at: null });
      clerk.resetStats();
      expect(await ensureOrganization(source, org.id)).toMatchObject({ id: org.id, name: "Acme" });
      expect(await ensureOrganization(source, "acme")).toMatchObject({ id: org.id });
      expect(clerk.stats().requests).toBe(0);
      expect(await ensureOrganization(source, "org_unknown")).toBeNull();
      expect(await countRows(store, "clerk_organizations")).toBe(1);
    });

    it("a key Clerk refuses is invalid_config, a failing API clerk_api_unavailable; nothing is written", async () => {
      const clerk = await standIn();
      const user = clerk.createUser();
      const wrongKey = createClerkApiClient({ apiUrl: clerk.url, secretKey: "sk_test_wrong", env: {} });
      const refused = await failure(ensureUser({ store, client: wrongKey }, user.id));
      expect(isClerkSyncError(refused, "invalid_config")).toBe(true);
      expect((refused as Error).message).not.toContain("sk_test_wrong");
      const flaky = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, env: {}, retries: 0 });
      clerk.failNext(1, 503);
      const down = await failure(ensureUser({ store, client: flaky }, user.id));
      expect(isClerkSyncError(down, "clerk_api_unavailable")).toBe(true);
      expect(await countRows(store, "clerk_users")).toBe(0);
      // The next call is not stuck on the failed one: it fetches again.
      expect(await ensureUser({ store, client: flaky }, user.id)).toMatchObject({ id: user.id });
    });

    it("bad input is invalid_config and nothing is read or written", async () => {
      const clerk = await standIn();
      const source = { store, client: clientOf(clerk) };
      for (const id of ["", " ", "user_1/x"]) {
        expect(isClerkSyncError(await failure(ensureUser(source, id)), "invalid_config")).toBe(true);
        expect(isClerkSyncError(await failure(ensureOrganization(source, id)), "invalid_config")).toBe(true);
      }
      expect(clerk.stats().requests).toBe(0);
    });
  });
}
