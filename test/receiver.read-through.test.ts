/**
 * The in-app receiver's read-through (`sync.ensureUser`, `sync.ensureOrganization`) and its
 * `fetchMissingParents` option, over real HTTP: deliveries reach createClerkSync behind
 * node:http, the Backend API is the local stand-in (requests counted by it, never timed).
 */
import { afterEach, beforeEach, expect, it } from "vitest";
import { createClerkSyncListener } from "../src/adapters/node.js";
import {
  type ClerkApiStandIn,
  type ClerkApiStandInOptions,
  createClerkApiClient,
  startClerkApiStandIn,
} from "../src/clerk-api/index.js";
import { isClerkSyncError } from "../src/core/errors.js";
import type { Logger } from "../src/core/logger.js";
import { type ClerkSync, type ClerkSyncOptions, createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { resolveConfig } from "../src/server/config.js";
import { startService } from "../src/server/service.js";
import { findUserById } from "../src/store/queries.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { deliver, failure, SECRET, storeTargets } from "./helpers/api-tests.js";
import { describeTarget } from "./helpers/databases.js";
import { type Served, serveNode } from "./helpers/http-servers.js";

const TARGETS = await storeTargets();

/** A logger that keeps its warnings. */
function recordingLogger(): Logger & { warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const noop = () => {};
  return { warnings, debug: noop, info: noop, error: noop, warn: (_m, fields = {}) => warnings.push(fields) };
}

for (const target of TARGETS) {
  describeTarget(target, `createClerkSync read-through on ${target.name}`, () => {
    let store: ClerkSyncStore;
    let receivers: { sync: ClerkSync; served: Served }[];
    let standIns: ClerkApiStandIn[];

    beforeEach(async () => {
      store = await target.fresh();
      await store.migrate();
      receivers = [];
      standIns = [];
    });
    afterEach(async () => {
      for (const { sync, served } of receivers) {
        await served.close();
        await sync.close();
      }
      await Promise.all(standIns.map((s) => s.close()));
      await store.close();
    });

    const standIn = async (options: ClerkApiStandInOptions = {}) => {
      const s = await startClerkApiStandIn({ rateLimit: false, ...options });
      standIns.push(s);
      return s;
    };

    /** A receiver with a store of its own on the test's database, behind node:http. */
    const receiver = async (options: ClerkSyncOptions = {}) => {
      const sync = createClerkSync({ store: await target.sibling(store), secrets: [SECRET], env: {}, ...options });
      const served = await serveNode(createClerkSyncListener(sync));
      const entry = { sync, served };
      receivers.push(entry);
      return entry;
    };

    /** Closes a receiver now (waiting for what its deliveries left to do). */
    const closeReceiver = async (entry: { sync: ClerkSync; served: Served }) => {
      receivers.splice(receivers.indexOf(entry), 1);
      await entry.served.close();
      await entry.sync.close();
    };

    const apiEnv = (s: ClerkApiStandIn) => ({ CLERK_SECRET_KEY: s.secretKey, CLERK_API_URL: s.url });

    it("sync.ensureUser reads CLERK_SECRET_KEY / CLERK_API_URL, and 50 calls racing the webhook give one row, one fetch, 2xx", async () => {
      const entry = await receiver();
      const clerk = await standIn({ webhooks: { url: entry.served.url, secret: SECRET } });
      const { sync } = await receiver({ env: apiEnv(clerk) });
      const user = clerk.createUser({ first_name: "Race" });
      const results = await Promise.all(Array.from({ length: 50 }, () => sync.ensureUser(user.id)));
      const [delivery] = await clerk.webhooksSettled();
      expect(delivery?.status).toBe(200);
      const row = await findUserById(store, user.id);
      expect(row?.first_name).toBe("Race");
      for (const result of results) expect(result).toEqual(row);
      // The receiver's calls share one fetch (at most one: the webhook may have been first).
      expect(clerk.stats().byRoute["/v1/users/{id}"] ?? 0).toBeLessThanOrEqual(1);
      expect(await sync.ensureUser("user_unknown")).toBeNull();
    });

    it("sync.ensureOrganization through a clerkApi client given as an option", async () => {
      const clerk = await standIn();
      const org = clerk.createOrganization({ name: "Acme", slug: "acme-co" });
      const client = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, env: {} });
      const { sync } = await receiver({ clerkApi: client });
      expect(await sync.ensureOrganization("acme-co")).toMatchObject({ id: org.id, name: "Acme", deleted_at: null });
      expect(client.stats().requests).toBe(1);
    });

    it("without CLERK_SECRET_KEY, ensureUser fails invalid_config naming the variable; deliveries are unaffected", async () => {
      const { sync, served } = await receiver();
      const error = await failure(sync.ensureUser("user_1"));
      expect(isClerkSyncError(error, "invalid_config")).toBe(true);
      expect((error as Error).message).toContain("CLERK_SECRET_KEY");
      const created = { object: "event", type: "user.created", timestamp: Date.now(), data: userData("user_env") };
      expect(await deliver(served.url, created)).toBe(200);
      await sync.ready(); // fetchMissingParents is off: the Backend API is not needed to start
    });

    it("fetchMissingParents: a membership arriving first fetches its user and organization after it commits", async () => {
      const clerk = await standIn();
      const user = clerk.createUser({ first_name: "Child" });
      const org = clerk.createOrganization({ name: "Parent Org" });
      const membership = clerk.createMembership({ organization_id: org.id, user_id: user.id });
      const event = {
        object: "event",
        type: "organizationMembership.created",
        timestamp: Date.now(),
        data: membership,
      };

      // Off by default: the membership is stored alone, nothing is fetched.
      const off = await receiver({ env: apiEnv(clerk) });
      expect(await deliver(off.served.url, event)).toBe(200);
      await closeReceiver(off);
      expect(clerk.stats().requests).toBe(0);
      expect(await findUserById(store, user.id)).toBeUndefined();

      // On (from the variable): the next membership delivery of the same parents fetches them.
      const on = await receiver({ env: { ...apiEnv(clerk), CLERK_SYNC_FETCH_MISSING_PARENTS: "true" } });
      const later = clerk.updateMembership(membership.id, { role: "org:admin" });
      expect(await deliver(on.served.url, { ...event, type: "organizationMembership.updated", data: later })).toBe(200);
      await closeReceiver(on);
      expect(await findUserById(store, user.id)).toMatchObject({ first_name: "Child", updated_at: user.updated_at });
      const orgRow = await store.db
        .selectFrom("clerk_organizations")
        .select(["id", "name"])
        .where("id", "=", org.id)
        .executeTakeFirst();
      expect(orgRow).toEqual({ id: org.id, name: "Parent Org" });
      expect(clerk.stats().byRoute).toEqual({ "/v1/users/{id}": 1, "/v1/organizations/{id}": 1 });
    });

    it("fetchMissingParents: a failing API is logged, the delivery still 2xx and applied", async () => {
      const clerk = await standIn();
      const user = clerk.createUser();
      const org = clerk.createOrganization({ name: "Down" });
      const membership = clerk.createMembership({ organization_id: org.id, user_id: user.id });
      const logger = recordingLogger();
      const client = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, env: {}, retries: 0 });
      const entry = await receiver({ clerkApi: client, fetchMissingParents: true, logger });
      clerk.failNext(2, 503);
      const event = {
        object: "event",
        type: "organizationMembership.created",
        timestamp: Date.now(),
        data: membership,
      };
      expect(await deliver(entry.served.url, event)).toBe(200);
      await closeReceiver(entry);
      const stored = await store.db
        .selectFrom("clerk_organization_memberships")
        .select("id")
        .where("id", "=", membership.id)
        .executeTakeFirst();
      expect(stored).toEqual({ id: membership.id });
      expect(await findUserById(store, user.id)).toBeUndefined();
      expect(logger.warnings.map((w) => w.code)).toEqual(["clerk_api_unavailable"]);
      expect(JSON.stringify(logger.warnings)).not.toContain(clerk.secretKey);
    });

    it("the service reads CLERK_SYNC_FETCH_MISSING_PARENTS, CLERK_SECRET_KEY and CLERK_API_URL like an in-app receiver", async () => {
      const clerk = await standIn();
      const user = clerk.createUser({ first_name: "Served" });
      const org = clerk.createOrganization({ name: "Served Org" });
      const membership = clerk.createMembership({ organization_id: org.id, user_id: user.id });
      const config = resolveConfig(
        { ...apiEnv(clerk), CLERK_SYNC_FETCH_MISSING_PARENTS: "true" },
        { secret: [SECRET], port: "0", host: "127.0.0.1" },
      );
      const service = await startService(config, { store: await target.sibling(store) });
      const event = {
        object: "event",
        type: "organizationMembership.created",
        timestamp: Date.now(),
        data: membership,
      };
      expect(await deliver(`${service.url}/api/webhooks`, event)).toBe(200);
      await service.close();
      expect(await findUserById(store, user.id)).toMatchObject({ first_name: "Served" });
      expect(clerk.stats().byRoute).toEqual({ "/v1/users/{id}": 1, "/v1/organizations/{id}": 1 });
    });

    it("fetchMissingParents without CLERK_SECRET_KEY: ready() fails invalid_config", async () => {
      const { sync } = await receiver({ fetchMissingParents: true });
      expect(isClerkSyncError(await failure(sync.ready()), "invalid_config")).toBe(true);
    });
  });
}

/** A user's `data` as a webhook carries it. */
function userData(id: string) {
  return {
    id,
    object: "user",
    first_name: "Env",
    last_name: null,
    username: null,
    image_url: "",
    email_addresses: [],
    phone_numbers: [],
    primary_email_address_id: null,
    primary_phone_number_id: null,
    public_metadata: {},
    private_metadata: {},
    unsafe_metadata: {},
    created_at: 1_700_000_000_000,
    updated_at: 1_700_000_000_000,
  };
}
