/**
 * The stand-in of Clerk's Backend API over real HTTP on 127.0.0.1: shapes and status codes of
 * every route, Clerk's error bodies, bounds, ordering and filters, the rate limit (on an
 * injected clock, never wall time), mutations and the signed webhooks they send, the control
 * routes, and `clerk-sync fake-clerk` as a real process.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClerkApiStandIn, ClerkApiStandInOptions } from "../src/clerk-api/index.js";
import type { OrganizationJSON, OrganizationMembershipJSON, UserJSON } from "../src/core/events.js";
import { createVerifier } from "../src/core/verify.js";
import { generateSecret } from "../src/server/env-files.js";
import { loadExample, startClerkApiStandIn } from "../src/testing/index.js";
import { readText } from "./helpers/http-text.js";

const running: ClerkApiStandIn[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.close()));
});

async function standIn(options: ClerkApiStandInOptions = {}): Promise<ClerkApiStandIn> {
  const s = await startClerkApiStandIn({ rateLimit: false, ...options });
  running.push(s);
  return s;
}

interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field
  body: any;
  headers: Headers;
}

async function get(s: ClerkApiStandIn, path: string, key: string | null = s.secretKey): Promise<Answer> {
  const response = await fetch(`${s.url}${path}`, key === null ? {} : { headers: { authorization: `Bearer ${key}` } });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), headers: response.headers };
}

/** Checks Clerk's error body and returns its first error's code. */
// biome-ignore lint/suspicious/noExplicitAny: an error body from the wire
function errorCode(body: any): string {
  expect(body).toEqual({
    errors: [
      expect.objectContaining({
        message: expect.any(String),
        long_message: expect.any(String),
        code: expect.any(String),
      }),
    ],
    clerk_trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
  });
  return body.errors[0].code;
}

const ids = (items: { id: string }[]) => items.map((i) => i.id);

describe("the Backend API stand-in: users", () => {
  let s: ClerkApiStandIn;
  let all: UserJSON[];
  beforeAll(async () => {
    s = await standIn({ users: 300, organizations: 12, seed: 4 });
    all = (await get(s, "/v1/users?limit=500&order_by=%2Bcreated_at")).body;
  });

  it("lists a bare array, 10 by default, newest first, each user in a webhook's `data` shape", async () => {
    const { status, body, headers } = await get(s, "/v1/users");
    expect(status).toBe(200);
    expect(headers.get("content-type")).toBe("application/json");
    expect(Array.isArray(body)).toBe(true);
    expect(body).toHaveLength(10);
    const times = body.map((u: UserJSON) => u.created_at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    const webhookData = loadExample("user.created").data;
    expect(Object.keys(body[0]).sort()).toEqual(Object.keys(webhookData).sort());
    for (const user of all) {
      expect(user.id).toMatch(/^user_[0-9A-Za-z]{27}$/);
      expect(user.email_addresses.length).toBeGreaterThanOrEqual(1);
      expect(user.email_addresses.length).toBeLessThanOrEqual(3);
      expect(ids(user.email_addresses)).toContain(user.primary_email_address_id);
      expect(user.updated_at).toBeGreaterThanOrEqual(user.created_at);
    }
    // The primary address is not always the first one, as in Clerk.
    expect(all.some((u) => u.email_addresses[0]!.id !== u.primary_email_address_id)).toBe(true);
    // Some users share a created_at, as a bulk import leaves them.
    expect(new Set(all.map((u) => u.created_at)).size).toBeLessThan(all.length);
  });

  it("takes limit 1–500 and answers 422 with Clerk's error body outside it", async () => {
    expect(all).toHaveLength(300);
    expect((await get(s, "/v1/users?limit=1")).body).toHaveLength(1);
    for (const [limit, code] of [
      ["0", "form_param_value_invalid"],
      ["501", "form_param_value_invalid"],
      ["-1", "form_param_value_invalid"],
      ["ten", "form_param_format_invalid"],
    ]) {
      const reply = await get(s, `/v1/users?limit=${limit}`);
      expect(reply.status).toBe(422);
      expect(errorCode(reply.body)).toBe(code);
      expect(reply.body.errors[0].meta).toEqual({ param_name: "limit" });
    }
    const offset = await get(s, "/v1/users?offset=-3");
    expect(offset.status).toBe(422);
    expect(offset.body.errors[0].meta).toEqual({ param_name: "offset" });
  });

  it("orders by +/-created_at and updated_at (ties by id), and refuses unknown fields", async () => {
    const byCreated = [...all].sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
    expect(ids(all)).toEqual(ids(byCreated));
    const desc: UserJSON[] = (await get(s, "/v1/users?limit=500&order_by=-created_at")).body;
    expect(ids(desc)).toEqual(ids(byCreated).reverse());
    const updated: UserJSON[] = (await get(s, "/v1/users?limit=500&order_by=-updated_at")).body;
    expect(updated.map((u) => u.updated_at)).toEqual(all.map((u) => u.updated_at).sort((a, b) => b - a));
    const bad = await get(s, "/v1/users?order_by=password");
    expect(bad.status).toBe(422);
    expect(errorCode(bad.body)).toBe("form_param_format_invalid");
    expect(bad.body.errors[0].meta).toEqual({ param_name: "order_by" });
  });

  it("pages with offset, and filters by created_at_after/before (strictly, in ms), user_id and email_address", async () => {
    const pages: UserJSON[] = [];
    for (let offset = 0; offset < 300; offset += 70) {
      pages.push(...(await get(s, `/v1/users?limit=70&offset=${offset}&order_by=%2Bcreated_at`)).body);
    }
    expect(ids(pages)).toEqual(ids(all));
    const pivot = all[150]!.created_at;
    const after: UserJSON[] = (await get(s, `/v1/users?limit=500&order_by=%2Bcreated_at&created_at_after=${pivot}`))
      .body;
    expect(ids(after)).toEqual(ids(all.filter((u) => u.created_at > pivot)));
    const before: UserJSON[] = (await get(s, `/v1/users?limit=500&created_at_before=${pivot}`)).body;
    expect(before.map((u) => u.id).sort()).toEqual(ids(all.filter((u) => u.created_at < pivot)).sort());
    const count = await get(s, `/v1/users/count?created_at_after=${pivot}`);
    expect(count.body).toEqual({ object: "total_count", total_count: after.length });
    const two = await get(s, `/v1/users?user_id=${all[3]!.id}&user_id=${all[7]!.id}`);
    expect(ids(two.body).sort()).toEqual([all[3]!.id, all[7]!.id].sort());
    const address = all[9]!.email_addresses.at(-1)!.email_address;
    expect(ids((await get(s, `/v1/users?email_address=${encodeURIComponent(address.toUpperCase())}`)).body)).toEqual([
      all[9]!.id,
    ]);
  });

  it("counts users: {object: total_count, total_count}", async () => {
    expect((await get(s, "/v1/users/count")).body).toEqual({ object: "total_count", total_count: 300 });
    expect((await get(s, `/v1/users/count?user_id=${all[0]!.id}&user_id=user_nope`)).body.total_count).toBe(1);
  });

  it("gets a user by id, and answers 404 resource_not_found for an unknown one", async () => {
    const one = await get(s, `/v1/users/${all[42]!.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(all[42]);
    const missing = await get(s, "/v1/users/user_2nope");
    expect(missing.status).toBe(404);
    expect(errorCode(missing.body)).toBe("resource_not_found");
    expect((await get(s, "/v1/no_such_thing")).status).toBe(404);
    expect((await get(s, "/v1/users/%E0%A4%A")).status).toBe(404); // a malformed escape is no route, not a crash
  });

  it("needs the Bearer secret key: 401 with Clerk's codes otherwise", async () => {
    const none = await get(s, "/v1/users", null);
    expect(none.status).toBe(401);
    expect(errorCode(none.body)).toBe("authorization_header_format_invalid");
    const wrong = await get(s, "/v1/users", "sk_test_not_the_key");
    expect(wrong.status).toBe(401);
    expect(errorCode(wrong.body)).toBe("clerk_key_invalid");
    const basic = await fetch(`${s.url}/v1/users`, { headers: { authorization: `Basic ${s.secretKey}` } });
    expect(basic.status).toBe(401);
    expect(errorCode(await basic.json())).toBe("authorization_header_format_invalid");
    // Even a path the API does not have asks for the key first, as Clerk's does.
    expect((await get(s, "/v1/no_such_thing", null)).status).toBe(401);
  });

  it("answers only GET on its routes", async () => {
    const post = await fetch(`${s.url}/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.secretKey}` },
    });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET");
  });

  it("is generated from its seed: same seed, same data; another seed, other data", async () => {
    const again = await standIn({ users: 300, organizations: 12, seed: 4 });
    expect(again.snapshot()).toEqual(s.snapshot());
    const other = await standIn({ users: 300, organizations: 12, seed: 5 });
    expect(ids(other.snapshot().users)).not.toEqual(ids(s.snapshot().users));
  });

  it("loads JSON data (a snapshot of another stand-in answers the same)", async () => {
    const copy = await standIn({ data: s.snapshot() });
    expect((await get(copy, "/v1/users?limit=500&order_by=%2Bcreated_at")).body).toEqual(all);
    expect((await get(copy, "/v1/organizations?limit=100")).body).toEqual(
      (await get(s, "/v1/organizations?limit=100")).body,
    );
    expect(copy.snapshot().memberships).toEqual(s.snapshot().memberships);
  });
});

describe("the Backend API stand-in: organizations and memberships", () => {
  let s: ClerkApiStandIn;
  let orgs: OrganizationJSON[];
  beforeAll(async () => {
    s = await standIn({ users: 80, organizations: 15, seed: 11 });
    orgs = (await get(s, "/v1/organizations?limit=100&order_by=%2Bcreated_at")).body.data;
  });

  it("lists organizations as {data, total_count} with limit, offset and order_by", async () => {
    const page = await get(s, "/v1/organizations?limit=4&offset=2&order_by=%2Bcreated_at");
    expect(page.status).toBe(200);
    expect(page.body.total_count).toBe(15);
    expect(ids(page.body.data)).toEqual(ids(orgs.slice(2, 6)));
    expect(orgs.map((o) => o.created_at)).toEqual(orgs.map((o) => o.created_at).sort((a, b) => a - b));
    const webhookData = loadExample("organization.created").data;
    expect(Object.keys(orgs[0]!).sort()).toEqual(Object.keys(webhookData).sort());
    expect((await get(s, "/v1/organizations?limit=501")).status).toBe(422);
    expect((await get(s, "/v1/organizations?order_by=-members_count")).status).toBe(200);
  });

  it("gets an organization by id or slug; 404 otherwise", async () => {
    const org = orgs[3]!;
    expect((await get(s, `/v1/organizations/${org.id}`)).body).toEqual(org);
    expect((await get(s, `/v1/organizations/${org.slug}`)).body).toEqual(org);
    const missing = await get(s, "/v1/organizations/org_nope");
    expect(missing.status).toBe(404);
    expect(errorCode(missing.body)).toBe("resource_not_found");
  });

  it("lists an organization's memberships, and the instance's, with the organization and user embedded", async () => {
    let sum = 0;
    for (const org of orgs) {
      const reply = await get(s, `/v1/organizations/${org.id}/memberships?limit=100`);
      expect(reply.status).toBe(200);
      expect(reply.body.total_count).toBe(org.members_count);
      for (const m of reply.body.data as OrganizationMembershipJSON[]) expect(m.organization.id).toBe(org.id);
      sum += reply.body.total_count;
    }
    const instance = await get(s, "/v1/organization_memberships?limit=500&order_by=%2Bcreated_at");
    expect(instance.status).toBe(200);
    expect(instance.body.total_count).toBe(sum);
    const m: OrganizationMembershipJSON = instance.body.data[0];
    expect(Object.keys(m).sort()).toEqual(Object.keys(loadExample("organizationMembership.created").data).sort());
    const user: UserJSON = (await get(s, `/v1/users/${m.public_user_data.user_id}`)).body;
    expect(m.public_user_data).toMatchObject({
      user_id: user.id,
      first_name: user.first_name,
      last_name: user.last_name,
    });
    expect((await get(s, "/v1/organizations/org_nope/memberships")).status).toBe(404);
    expect((await get(s, "/v1/organization_memberships?limit=0")).status).toBe(422);
  });
});

describe("the Backend API stand-in: mutations", () => {
  it("appends sign-ups with created_at = now, bumps updated_at on update, and forgets deleted users", async () => {
    let clock = Date.UTC(2026, 0, 1);
    const s = await standIn({ users: 30, organizations: 3, now: () => clock });
    const before = s.snapshot().users;
    const user = s.createUser({ first_name: "Ann", email_addresses: ["ann@example.com", "ann@work.example"] });
    expect(user.created_at).toBe(clock);
    expect(user.email_addresses.map((e) => e.email_address)).toEqual(["ann@example.com", "ann@work.example"]);
    expect(user.primary_email_address_id).toBe(user.email_addresses[0]!.id);
    const asc: UserJSON[] = (await get(s, "/v1/users?limit=500&order_by=%2Bcreated_at")).body;
    expect(asc.at(-1)).toEqual(user);
    expect(asc).toHaveLength(before.length + 1);

    const updated = s.updateUser(user.id, { last_name: "Lee" }); // same millisecond: still a newer version
    expect(updated.updated_at).toBeGreaterThan(user.updated_at);
    clock += 5000;
    const later = s.updateUser(user.id, { first_name: "Anna" });
    expect(later).toMatchObject({
      first_name: "Anna",
      last_name: "Lee",
      updated_at: clock,
      created_at: user.created_at,
    });
    expect((await get(s, `/v1/users/${user.id}`)).body).toEqual(later);

    const org = s.createOrganization({ name: "Ann's Org", created_by: user.id });
    expect(org.members_count).toBe(1);
    const members = (await get(s, `/v1/organizations/${org.slug}/memberships`)).body;
    expect(members.data.map((m: OrganizationMembershipJSON) => [m.public_user_data.user_id, m.role])).toEqual([
      [user.id, "org:admin"],
    ]);

    s.deleteUser(user.id);
    expect((await get(s, `/v1/users/${user.id}`)).status).toBe(404);
    expect(ids((await get(s, "/v1/users?limit=500")).body)).not.toContain(user.id);
    expect((await get(s, "/v1/users/count")).body.total_count).toBe(before.length);
    expect((await get(s, `/v1/organizations/${org.id}`)).body.members_count).toBe(0);
    expect(() => s.updateUser(user.id, {})).toThrow(expect.objectContaining({ code: "not_found" }));

    s.deleteOrganization(org.id);
    expect((await get(s, `/v1/organizations/${org.id}`)).status).toBe(404);
  });

  it("shifts offset pages under sign-ups (newest first), as Clerk's do", async () => {
    const s = await standIn({ users: 20 });
    const first: UserJSON[] = (await get(s, "/v1/users?limit=5")).body;
    s.createUser();
    const second: UserJSON[] = (await get(s, "/v1/users?limit=5&offset=5")).body;
    expect(second[0]!.id).toBe(first[4]!.id); // read again: the new user pushed it onto the next page
  });

  it("sends each mutation's webhook, signed with the given secret, in Clerk's envelope", async () => {
    const received: { headers: IncomingMessage["headers"]; body: string }[] = [];
    const receiver = createServer(async (req, res) => {
      received.push({ headers: req.headers, body: await readText(req) });
      res.end("ok");
    }).listen(0, "127.0.0.1");
    await once(receiver, "listening");
    const secret = generateSecret();
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/webhooks`;
    try {
      const s = await standIn({ users: 5, webhooks: { url, secret } });
      const user = s.createUser({ first_name: "Webb" });
      s.updateUser(user.id, { first_name: "Webster" });
      const org = s.createOrganization({ name: "Hooks Inc", created_by: user.id });
      s.deleteUser(user.id);
      const deliveries = await s.webhooksSettled();
      expect(deliveries.map((d) => [d.type, d.status])).toEqual([
        ["user.created", 200],
        ["user.updated", 200],
        ["organization.created", 200],
        ["organizationMembership.created", 200],
        ["organizationMembership.deleted", 200],
        ["user.deleted", 200],
      ]);
      const verify = createVerifier({ secrets: secret });
      const events = received.map((r) => {
        const headers = new Headers(r.headers as Record<string, string>);
        expect(verify(r.body, headers).id).toBe(headers.get("svix-id"));
        return JSON.parse(r.body);
      });
      expect(events[0]).toMatchObject({ object: "event", type: "user.created", data: user });
      expect(events[0].instance_id).toMatch(/^ins_/);
      expect(events[2].data).toMatchObject({ id: org.id, object: "organization" });
      expect(events[5].data).toEqual({ object: "user", id: user.id, deleted: true, external_id: null });
      // Signed with that secret only: another one does not verify.
      const other = createVerifier({ secrets: generateSecret() });
      const r0 = received[0]!;
      expect(() => other(r0.body, new Headers(r0.headers as Record<string, string>))).toThrow(
        expect.objectContaining({ code: "invalid_signature" }),
      );
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});

describe("the Backend API stand-in: rate limit and counters", () => {
  it("answers 429 with Retry-After and Clerk's body once a key's requests in the window are used", async () => {
    let clock = 1_000_000;
    const s = await standIn({ users: 3, rateLimit: { requests: 3, windowMs: 10_000 }, now: () => clock });
    for (let i = 0; i < 3; i++) expect((await get(s, "/v1/users")).status).toBe(200);
    clock += 2500;
    const refused = await get(s, "/v1/users/count");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("8"); // 7.5 s left in the window, in whole seconds
    expect(errorCode(refused.body)).toBe("too_many_requests");
    expect((await get(s, "/v1/users", "sk_test_wrong")).status).toBe(401); // an unknown key is refused, not limited
    clock += 7500; // the window is over
    expect((await get(s, "/v1/users")).status).toBe(200);
    expect(s.stats()).toEqual({
      requests: 6,
      byRoute: { "/v1/users": 5, "/v1/users/count": 1 },
      byStatus: { "200": 4, "401": 1, "429": 1 },
      rateLimited: 1,
    });
  });

  it("fails requests on demand (a status, or a dropped connection), and counts them", async () => {
    const s = await standIn({ users: 3 });
    s.failNext(1, 503);
    s.failNext(1, "reset");
    expect((await get(s, "/v1/users")).status).toBe(503);
    await expect(fetch(`${s.url}/v1/users`)).rejects.toThrow();
    expect((await get(s, "/v1/users")).status).toBe(200);
    expect(s.stats().byStatus).toEqual({ "200": 1, "503": 1, reset: 1 });
    s.resetStats();
    expect(s.stats().requests).toBe(0);
  });

  it("serves its counters and mutations over HTTP under /__stand-in/, with its key", async () => {
    const s = await standIn({ users: 3 });
    const control = (method: string, path: string, body?: unknown, key = s.secretKey) =>
      fetch(`${s.url}/__stand-in/${path}`, {
        method,
        headers: { authorization: `Bearer ${key}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await control("GET", "stats", undefined, "sk_test_wrong")).status).toBe(401);
    const created = await control("POST", "users", { first_name: "Remy", email_addresses: ["remy@example.com"] });
    expect(created.status).toBe(200);
    const user: UserJSON = await created.json();
    expect((await get(s, `/v1/users/${user.id}`)).body).toEqual(user);
    expect((await (await control("PATCH", `users/${user.id}`, { last_name: "Roe" })).json()).last_name).toBe("Roe");
    expect((await control("DELETE", `users/${user.id}`)).status).toBe(200);
    expect((await control("DELETE", `users/${user.id}`)).status).toBe(404);
    expect((await control("POST", "organizations", { nom: "x" })).status).toBe(422);
    expect((await control("POST", "users", "[1,2]")).status).toBe(400);
    const stats = await (await control("GET", "stats")).json();
    expect(stats).toEqual({ requests: 1, byRoute: { "/v1/users/{id}": 1 }, byStatus: { "200": 1 }, rateLimited: 0 });
    expect((await (await control("GET", "snapshot")).json()).users).toHaveLength(3);
  });
});

describe("clerk-sync fake-clerk", () => {
  it("runs the stand-in as a process, prints the URL and key to use, and stops on SIGTERM", async () => {
    const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
    const args = ["fake-clerk", "--port", "0", "--users", "25", "--orgs", "2", "--rate-limit", "7"];
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { runMain } from ${JSON.stringify(main)}; await runMain(${JSON.stringify(args)});`,
      ],
      { env: { ...process.env, CLERK_SECRET_KEY: "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8");
    const printed = new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (chunk: string) => {
        out += chunk;
        if (out.includes("Ctrl-C")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`fake-clerk exited (${code}) before listening: ${out}`)));
    });
    try {
      await printed;
      const url = /CLERK_API_URL=(\S+)/.exec(out)?.[1];
      const key = /CLERK_SECRET_KEY=(sk_test_\S+)/.exec(out)?.[1];
      expect(out).toContain("25 users, 2 organizations");
      expect(out).toContain("7 requests per 10 s");
      const reply = await fetch(`${url}/v1/users/count`, { headers: { authorization: `Bearer ${key}` } });
      expect(await reply.json()).toEqual({ object: "total_count", total_count: 25 });
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      expect((await exited)[0]).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
