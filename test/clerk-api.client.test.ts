/**
 * The Backend API client against the stand-in over real HTTP: configuration errors, each call,
 * walks that users signing up and being deleted cannot make skip or repeat a user, resuming
 * from a cursor, pacing under the limit, 429s waited out with no failed request, retries, and
 * the request count of `@clerk/backend`'s `getUserList` against ours. Counts come from the
 * stand-in; no test measures time.
 */
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createClerkClient } from "@clerk/backend";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ClerkApiClient,
  type ClerkApiClientOptions,
  type ClerkApiStandIn,
  type ClerkApiStandInOptions,
  createClerkApiClient,
  generateData,
  startClerkApiStandIn,
  type UsersCursor,
} from "../src/clerk-api/index.js";
import { isClerkSyncError } from "../src/core/errors.js";
import type { UserJSON } from "../src/core/events.js";

const running: ClerkApiStandIn[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.close()));
});

async function standIn(options: ClerkApiStandInOptions = {}): Promise<ClerkApiStandIn> {
  const s = await startClerkApiStandIn({ rateLimit: false, ...options });
  running.push(s);
  return s;
}

function clientOf(s: ClerkApiStandIn, options: ClerkApiClientOptions = {}): ClerkApiClient {
  return createClerkApiClient({ apiUrl: s.url, secretKey: s.secretKey, env: {}, retryDelayMs: 1, ...options });
}

/** The error `promise` rejects with (fails when it resolves). */
async function failure(promise: Promise<unknown> | (() => unknown)): Promise<{ code?: string; message: string }> {
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error("expected a failure");
}

/** Counts how often each id was handed out. */
function tally(counts: Map<string, number>, items: { id: string }[]): void {
  for (const item of items) counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
}

describe("Backend API client: configuration", () => {
  it("reads CLERK_SECRET_KEY and CLERK_API_URL, defaulting to https://api.clerk.com", () => {
    expect(createClerkApiClient({ env: { CLERK_SECRET_KEY: "sk_live_abc123" } }).apiUrl).toBe("https://api.clerk.com");
    const env = { CLERK_SECRET_KEY: "sk_test_abc123", CLERK_API_URL: "http://127.0.0.1:3100/" };
    expect(createClerkApiClient({ env }).apiUrl).toBe("http://127.0.0.1:3100");
  });

  it("refuses a missing or ill-formed key with invalid_config naming the variable, never echoing the value", async () => {
    const missing = await failure(() => createClerkApiClient({ env: {} }));
    expect(missing.code).toBe("invalid_config");
    expect(missing.message).toContain("CLERK_SECRET_KEY");
    const wrong = await failure(() => createClerkApiClient({ env: { CLERK_SECRET_KEY: "pk_test_s3cr3tvalue" } }));
    expect(wrong.code).toBe("invalid_config");
    expect(wrong.message).toContain("CLERK_SECRET_KEY");
    expect(wrong.message).not.toContain("s3cr3tvalue");
    const option = await failure(() => createClerkApiClient({ secretKey: "whsec_s3cr3tvalue", env: {} }));
    expect(option.message).toContain("secretKey");
    expect(option.message).not.toContain("s3cr3tvalue");
  });

  it("refuses an API URL that is not an http(s) origin, or that ends in /v1", async () => {
    const env = { CLERK_SECRET_KEY: "sk_test_abc" };
    for (const url of ["not a url", "ftp://api.clerk.com", "https://api.clerk.com/v1", "https://api.clerk.com?x=1"]) {
      const error = await failure(() => createClerkApiClient({ env: { ...env, CLERK_API_URL: url } }));
      expect(error.code).toBe("invalid_config");
      expect(error.message).toContain("CLERK_API_URL");
    }
  });

  it("refuses out-of-range paging before any request", async () => {
    const s = await standIn({ users: 3 });
    const client = clientOf(s);
    expect((await failure(client.listUsersPage({ limit: 501 }))).code).toBe("invalid_config");
    expect((await failure(client.listUsersPage({ limit: 0 }))).code).toBe("invalid_config");
    expect((await failure(client.listUsersPage({ offset: -1 }))).code).toBe("invalid_config");
    expect(
      (await failure(client.listUsersPage({ userIds: Array.from({ length: 101 }, (_, i) => `user_${i}`) }))).code,
    ).toBe("invalid_config");
    expect((await failure(async () => client.walkUsers({ pageSize: 1 }).next())).code).toBe("invalid_config");
    expect(s.stats().requests).toBe(0);
  });
});

describe("Backend API client: calls", () => {
  it("lists users oldest first, filters by created_at, counts them and gets one (null on 404)", async () => {
    const s = await standIn({ users: 120, seed: 21 });
    const client = clientOf(s);
    const page = await client.listUsersPage({ limit: 50 });
    expect(page).toHaveLength(50);
    expect(page.map((u) => u.created_at)).toEqual(page.map((u) => u.created_at).sort((a, b) => a - b));
    const after = await client.listUsersPage({ limit: 500, createdAfter: page[49]!.created_at });
    expect(after.every((u) => u.created_at > page[49]!.created_at)).toBe(true);
    expect(await client.countUsers()).toBe(120);
    expect(await client.countUsers({ createdAfter: page[49]!.created_at })).toBe(after.length);
    expect(await client.getUser(page[7]!.id)).toEqual(page[7]);
    expect(await client.getUser("user_2doesnotexist")).toBeNull();
    expect(s.stats().byRoute).toEqual({ "/v1/users": 2, "/v1/users/count": 2, "/v1/users/{id}": 2 });
  });

  it("gets and lists organizations and memberships", async () => {
    const s = await standIn({ users: 60, organizations: 8, seed: 22 });
    const client = clientOf(s);
    const orgs = await client.listOrganizationsPage({ limit: 5 });
    expect(orgs.total_count).toBe(8);
    expect(orgs.data).toHaveLength(5);
    const org = orgs.data[2]!;
    expect(await client.getOrganization(org.id)).toEqual(org);
    expect(await client.getOrganization(org.slug!)).toEqual(org);
    expect(await client.getOrganization("org_nope")).toBeNull();
    const members = await client.listMembershipsPage({ organizationId: org.id });
    expect(members.total_count).toBe(org.members_count);
    expect(members.data.every((m) => m.organization.id === org.id)).toBe(true);
    const all = await client.listMembershipsPage();
    expect(all.total_count).toBe(s.snapshot().memberships.length);
  });

  it("turns a refused key into invalid_config, and a 404 without Clerk's body into clerk_api_error (not null)", async () => {
    const s = await standIn({ users: 3 });
    const error = await failure(clientOf(s, { secretKey: "sk_test_wrongkey" }).getUser("user_x"));
    expect(error.code).toBe("invalid_config");
    expect(error.message).not.toContain("sk_test_wrongkey");
    // A server that is not Clerk's API (a wrong CLERK_API_URL) must not make every user look deleted.
    const other = createServer((_, res) => {
      res.statusCode = 404;
      res.end("Not Found");
    }).listen(0, "127.0.0.1");
    await once(other, "listening");
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const lost = createClerkApiClient({ apiUrl: url, secretKey: "sk_test_abc", env: {} });
      expect((await failure(lost.getUser("user_x"))).code).toBe("clerk_api_error");
    } finally {
      other.closeAllConnections();
      other.close();
    }
  });

  it("retries network errors and 5xx with back-off, then fails as clerk_api_unavailable", async () => {
    const s = await standIn({ users: 5 });
    const client = clientOf(s, { retries: 3 });
    const [user] = s.snapshot().users;
    s.failNext(1, 503);
    s.failNext(1, "reset");
    s.failNext(1, 500);
    expect(await client.getUser(user!.id)).toEqual(user);
    expect(client.stats()).toEqual({ requests: 4, rateLimited: 0, retried: 3 });
    s.failNext(4, 502);
    const error = await failure(client.getUser(user!.id));
    expect(error.code).toBe("clerk_api_unavailable");
    expect(isClerkSyncError(error, "clerk_api_unavailable")).toBe(true);
    expect(s.stats().byStatus).toEqual({ "200": 1, "500": 1, "502": 4, "503": 1, reset: 1 });
  });
});

describe("Backend API client: walking users", () => {
  it("sees each of 2,000+ users exactly once while users sign up and are deleted between pages", async () => {
    const s = await standIn({ users: 2100, seed: 23 });
    const client = clientOf(s);
    const counts = new Map<string, number>();
    const deleted = new Set<string>();
    let pages = 0;
    for await (const page of client.walkUsers({ pageSize: 150 })) {
      pages++;
      tally(counts, page.items);
      const snapshot = s.snapshot().users;
      // Sign-ups land at the end; deletions hit users read and not yet read.
      for (let i = 0; i < 7; i++) s.createUser();
      for (const victim of [snapshot[pages * 3], snapshot.at(-(pages * 5))]) {
        if (victim && !deleted.has(victim.id)) {
          s.deleteUser(victim.id);
          deleted.add(victim.id);
        }
      }
    }
    const remaining = s.snapshot().users;
    expect(remaining.length).toBeGreaterThan(2100);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // Every user there is now was read, except those who signed up after the last page was read.
    const lastRead = Math.max(...[...counts.keys()].map((id) => remaining.find((u) => u.id === id)?.created_at ?? 0));
    const unread = remaining.filter((u) => !counts.has(u.id));
    expect(unread.every((u) => u.created_at >= lastRead)).toBe(true);
    expect(unread.length).toBeLessThanOrEqual(7);
    // And nothing was read that never existed.
    for (const id of counts.keys()) expect(remaining.some((u) => u.id === id) || deleted.has(id)).toBe(true);
    expect(pages).toBeGreaterThan(14);
  });

  it("neither skips nor repeats users sharing a created_at across page boundaries, even a run longer than a page", async () => {
    const base = generateData({ seed: 24, users: 60 }).users;
    // Runs of equal created_at: 1, 4, 1, 13 (longer than the page of 5), 2, 1, …
    const runs = [1, 4, 1, 13, 2, 1, 6, 5, 3, 1, 9, 7, 1, 6];
    let at = Date.UTC(2023, 0, 1);
    let i = 0;
    const users: UserJSON[] = [];
    for (const run of runs) {
      for (let k = 0; k < run; k++) users.push({ ...base[i++]!, created_at: at, updated_at: at });
      at += 1000;
    }
    const s = await standIn({ data: { users } });
    const client = clientOf(s);
    const counts = new Map<string, number>();
    for await (const page of client.walkUsers({ pageSize: 5 })) tally(counts, page.items);
    expect(counts.size).toBe(users.length);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it("resumes from a page's cursor in another client (JSON round trip), reading each user once overall", async () => {
    const s = await standIn({ users: 700, seed: 25 });
    const counts = new Map<string, number>();
    let cursor: UsersCursor | undefined;
    for await (const page of clientOf(s).walkUsers({ pageSize: 100 })) {
      tally(counts, page.items);
      cursor = page.cursor;
      if (counts.size >= 300) break; // the process stops here
    }
    s.createUser();
    const resumed = JSON.parse(JSON.stringify(cursor)) as UsersCursor;
    for await (const page of clientOf(s).walkUsers({ pageSize: 100, cursor: resumed })) tally(counts, page.items);
    expect(counts.size).toBe(701);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  });

  it("walks organizations and memberships once each while some are created and deleted between pages", async () => {
    const s = await standIn({ users: 200, organizations: 60, seed: 26 });
    const client = clientOf(s);
    const orgCounts = new Map<string, number>();
    const deleted = new Set<string>();
    let step = 0;
    let createdLast = "";
    for await (const page of client.walkOrganizations({ pageSize: 10 })) {
      tally(orgCounts, page.items);
      const snapshot = [...s.snapshot().organizations].sort((a, b) => a.created_at - b.created_at);
      createdLast = s.createOrganization({ name: `Late ${step}` }).id;
      // Delete three already read: the next page would start three items late and skip what moved
      // back behind its offset, unless the walk checks its overlap with what it has read.
      if (step % 2 === 0) {
        const read = snapshot.filter((o) => orgCounts.has(o.id) && !o.name.startsWith("Late")).slice(-3);
        for (const org of read) {
          s.deleteOrganization(org.id);
          deleted.add(org.id);
        }
      }
      step++;
    }
    const remaining = s.snapshot().organizations;
    expect(deleted.size).toBeGreaterThan(2);
    expect([...orgCounts.values()].every((n) => n === 1)).toBe(true);
    // All but the one created after the last page was read.
    expect(remaining.filter((o) => !orgCounts.has(o.id)).map((o) => o.id)).toEqual([createdLast]);

    const memberCounts = new Map<string, number>();
    let deletions = 0;
    for await (const page of client.walkMemberships({ pageSize: 25 })) {
      tally(memberCounts, page.items);
      const present = new Set(s.snapshot().memberships.map((m) => m.id));
      for (const id of [...memberCounts.keys()].filter((id) => present.has(id)).slice(-3)) {
        s.deleteMembership(id);
        deletions++;
      }
    }
    expect(deletions).toBeGreaterThan(2);
    expect([...memberCounts.values()].every((n) => n === 1)).toBe(true);
    for (const m of s.snapshot().memberships) expect(memberCounts.has(m.id)).toBe(true);
  });
});

describe("Backend API client: the rate limit", () => {
  it("waits out 429s (Retry-After) and resends, ending with every user and no failed request", async () => {
    const s = await standIn({ users: 600, seed: 27, rateLimit: { requests: 5, windowMs: 1000 } });
    const client = clientOf(s, { rateLimit: false }); // not paced: it runs into the stand-in's limit
    let read = 0;
    for await (const page of client.walkUsers({ pageSize: 40 })) read += page.items.length;
    expect(read).toBe(600);
    const stats = s.stats();
    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(client.stats().rateLimited).toBe(stats.rateLimited);
    // Every request was answered 200 or 429: none failed, and each 429 was sent again.
    expect(Object.keys(stats.byStatus).sort()).toEqual(["200", "429"]);
    expect(stats.byStatus["200"]).toBe(client.stats().requests - client.stats().rateLimited);
  });

  it("paced at the stand-in's limit, never gets a 429", async () => {
    const s = await standIn({ users: 300, seed: 28, rateLimit: { requests: 5, windowMs: 300 } });
    const client = clientOf(s, { rateLimit: { requests: 5, windowMs: 300 } });
    const reads = await Promise.all([
      (async () => {
        let n = 0;
        for await (const page of client.walkUsers({ pageSize: 25 })) n += page.items.length;
        return n;
      })(),
      ...s
        .snapshot()
        .users.slice(0, 6)
        .map((u) => client.getUser(u.id)),
    ]);
    expect(reads[0]).toBe(300);
    expect(s.stats().requests).toBe(client.stats().requests);
    expect(s.stats().requests).toBeGreaterThan(15); // three windows' worth at least
    expect(s.stats().rateLimited).toBe(0);
  });
});

describe("@clerk/backend's getUserList against the stand-in (the measurement behind decision 44)", () => {
  it("sends two requests per page (the list and /users/count); this client sends one", async () => {
    const s = await standIn({ users: 2000, seed: 29 });
    const backend = createClerkClient({ secretKey: s.secretKey, apiUrl: s.url });
    let pages = 0;
    let after: number | undefined;
    for (;;) {
      const { data } = await backend.users.getUserList({
        limit: 500,
        orderBy: "+created_at",
        ...(after === undefined ? {} : { createdAtAfter: after }),
      });
      pages++;
      if (data.length < 500) break;
      after = data.at(-1)!.createdAt;
    }
    expect(s.stats().byRoute).toEqual({ "/v1/users": pages, "/v1/users/count": pages });
    s.resetStats();
    const client = clientOf(s);
    let users = 0;
    for await (const page of client.walkUsers({ pageSize: 500 })) users += page.items.length;
    expect(users).toBe(2000);
    expect(s.stats().byRoute).toEqual({ "/v1/users": client.stats().requests });
    expect(client.stats().requests).toBeLessThanOrEqual(pages + 1); // 1 per page (+1 for the pages' overlap)
  });
});
