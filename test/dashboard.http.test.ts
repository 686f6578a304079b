/**
 * The dashboard over real HTTP on a real database (a SQLite file): sign-in, the session cookie,
 * CSRF refusals, the security headers, escaping of stored data, and every page.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SESSION_TTL_MS } from "../src/dashboard/auth.js";
import { SIGN_IN_FAILURES_PER_WINDOW } from "../src/dashboard/dashboard.js";
import { insertRun } from "../src/store/runs.js";
import {
  type DashboardApp,
  type HttpSession,
  type Seeded,
  seed,
  signIn,
  startDashboardApp,
  TEST_TOKEN,
  XSS,
} from "./helpers/dashboard-app.js";
import { sqliteFileTarget } from "./helpers/databases.js";

const target = sqliteFileTarget();
let app: DashboardApp;
let session: HttpSession;
let seeded: Seeded;
let clock = Date.now();

beforeAll(async () => {
  app = await startDashboardApp(await target.fresh(), { now: () => clock });
  seeded = await seed(app);
  session = await signIn(app);
});
afterAll(() => app?.close());

const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const post = (
  path: string,
  init: { body?: URLSearchParams; origin?: string | null; cookie?: string; headers?: Record<string, string> },
) =>
  fetch(`${app.dashboard}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(init.origin === null ? {} : { origin: init.origin ?? app.url }),
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...init.headers,
    },
    body: init.body ?? form({}),
  });
const code = (response: { headers: Headers }) => response.headers.get("clerk-sync-error-code");

describe("signing in", () => {
  it("refuses every page without a session: 401 unauthorized, with the sign-in form", async () => {
    for (const path of ["", "/", "/users", "/organizations", "/runs", "/deliveries"]) {
      const response = await fetch(`${app.dashboard}${path}`, { headers: { accept: "text/html" } });
      expect({ path, status: response.status, code: code(response) }).toEqual({
        path,
        status: 401,
        code: "unauthorized",
      });
      const text = await response.text();
      expect(text).toContain('name="token"');
      expect(text).not.toContain(seeded.userId);
    }
    const json = await fetch(`${app.dashboard}/users`, { headers: { accept: "application/json" } });
    expect(await json.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
  });

  it("refuses a wrong token (401 unauthorized, no cookie) and takes the right one (303, session cookie)", async () => {
    const wrong = await post("/login", { body: form({ token: `${TEST_TOKEN}x`, next: "/dashboard/users" }) });
    expect([wrong.status, code(wrong), wrong.headers.get("set-cookie")]).toEqual([401, "unauthorized", null]);
    const empty = await post("/login", { body: form({}) });
    expect([empty.status, code(empty)]).toEqual([401, "unauthorized"]);

    const right = await post("/login", { body: form({ token: TEST_TOKEN, next: "/dashboard/users?q=x" }) });
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/dashboard/users?q=x");
    const cookie = right.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^clerk_sync_dashboard=[^;]+; Path=\/dashboard; Max-Age=43200; HttpOnly; SameSite=Strict$/);
  });

  it("marks the cookie Secure behind https, and never redirects off the dashboard after sign-in", async () => {
    const behindTls = await post("/login", {
      body: form({ token: TEST_TOKEN, next: "//evil.example/x" }),
      headers: { "x-forwarded-proto": "https" },
    });
    expect(behindTls.headers.get("set-cookie")).toMatch(/; Secure$/);
    expect(behindTls.headers.get("location")).toBe("/dashboard");
    const offSite = await post("/login", { body: form({ token: TEST_TOKEN, next: "https://evil.example/" }) });
    expect(offSite.headers.get("location")).toBe("/dashboard");
  });

  it("refuses a sign-in posted from another origin or with no origin: 403 csrf_failed", async () => {
    for (const origin of ["https://evil.example", null, "null"]) {
      const response = await post("/login", { origin, body: form({ token: TEST_TOKEN }) });
      expect({
        origin,
        status: response.status,
        code: code(response),
        cookie: response.headers.get("set-cookie"),
      }).toEqual({
        origin,
        status: 403,
        code: "csrf_failed",
        cookie: null,
      });
    }
  });

  it("refuses a tampered, foreign or expired session cookie", async () => {
    const [expiry, nonce] = session.cookie.replace("clerk_sync_dashboard=", "").split(".");
    const forged = [
      `clerk_sync_dashboard=${Number(expiry) + 1000}.${nonce}.AAAA`,
      `clerk_sync_dashboard=${session.cookie.slice(-5)}`,
      "clerk_sync_dashboard=",
    ];
    for (const cookie of forged) {
      const response = await fetch(app.dashboard, { headers: { cookie } });
      expect([cookie, response.status, code(response)]).toEqual([cookie, 401, "unauthorized"]);
    }
    const before = clock;
    clock += SESSION_TTL_MS + 1;
    try {
      const expired = await fetch(app.dashboard, { headers: { cookie: session.cookie } });
      expect([expired.status, code(expired)]).toEqual([401, "unauthorized"]);
    } finally {
      clock = before;
    }
    expect((await session.get("")).status).toBe(200);
  });
});

describe("guessing the token", () => {
  it("pauses every sign-in for the rest of the minute after 20 wrong tokens; open sessions keep working", async () => {
    const guesser = await startDashboardApp(await target.fresh(), { now: () => clock });
    try {
      const signInTo = (token: string) =>
        fetch(`${guesser.dashboard}/login`, {
          method: "POST",
          redirect: "manual",
          headers: { origin: guesser.url, "content-type": "application/x-www-form-urlencoded" },
          body: form({ token }),
        });
      const open = await signIn(guesser);
      for (let i = 0; i < SIGN_IN_FAILURES_PER_WINDOW; i++)
        expect((await signInTo(`guess-${i}-xxxxxxxxxxxx`)).status).toBe(401);
      const paused = await signInTo(TEST_TOKEN);
      expect([paused.status, code(paused), paused.headers.get("set-cookie")]).toEqual([401, "unauthorized", null]);
      expect(Number(paused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((await open.get("")).status).toBe(200);
      clock += 60_000;
      expect((await signInTo(TEST_TOKEN)).status).toBe(303);
    } finally {
      await guesser.close();
    }
  });
});

describe("CSRF", () => {
  it("refuses a signed-in POST without the form's token, with a wrong one, or from another origin", async () => {
    const csrf = await session.csrf();
    const cases = [
      { name: "no token", body: form({}), origin: app.url },
      { name: "wrong token", body: form({ csrf: `${csrf.slice(0, -2)}xx` }), origin: app.url },
      { name: "foreign origin", body: form({ csrf }), origin: "https://evil.example" },
      { name: "no origin", body: form({ csrf }), origin: null },
    ];
    for (const c of cases) {
      const response = await post("/logout", { body: c.body, origin: c.origin, cookie: session.cookie });
      expect({
        name: c.name,
        status: response.status,
        code: code(response),
        cookie: response.headers.get("set-cookie"),
      }).toEqual({
        name: c.name,
        status: 403,
        code: "csrf_failed",
        cookie: null,
      });
    }
    // The session still works: nothing was changed.
    expect((await session.get("")).status).toBe(200);
  });

  it("signs out with the token and the dashboard's origin (the cookie is cleared)", async () => {
    const other = await signIn(app);
    const response = await post("/logout", { body: form({ csrf: await other.csrf() }), cookie: other.cookie });
    expect(response.status).toBe(303);
    expect(response.headers.get("set-cookie")).toMatch(/^clerk_sync_dashboard=; Path=\/dashboard; Max-Age=0;/);
  });
});

describe("pages", () => {
  it("send the security headers: a CSP with no script and no unsafe-inline, no framing, no caching", async () => {
    for (const path of ["", "/login", "/users"]) {
      const { headers } = await session.get(path);
      const csp = headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).not.toContain("script-src");
      expect(headers.get("x-frame-options")).toBe("DENY");
      expect(headers.get("cache-control")).toBe("no-store");
      expect(headers.get("content-type")).toBe("text/html; charset=utf-8");
    }
  });

  it("show stored text escaped: a name holding a <script> is text, never markup", async () => {
    for (const path of [
      `/users?q=${seeded.userId}`,
      `/users/${seeded.userId}`,
      `/organizations?q=${seeded.slug}`,
      `/organizations/${seeded.orgId}`,
    ]) {
      const { status, text } = await session.get(path);
      expect({ path, status }).toEqual({ path, status: 200 });
      expect(text).not.toContain(XSS);
      expect(text).not.toMatch(/<script/i);
      expect(text).toContain("&lt;script&gt;");
    }
  });

  it("show a search text reflected in a form escaped, attribute quotes included", async () => {
    for (const path of ["/users?q=", "/organizations?q=", "/deliveries?type=", "/deliveries?object_id="]) {
      const { text } = await session.get(`${path}${encodeURIComponent(`"><script>x()</script>`)}`);
      expect(text).not.toMatch(/<script/i);
      expect(text).toContain('value="&quot;&gt;&lt;script&gt;x()&lt;/script&gt;"');
    }
  });

  it("health: deliveries per status over the last hour and day, and the last delivery's age", async () => {
    const { status, text } = await session.get("");
    expect(status).toBe(200);
    expect(text).toContain("<h1>Health</h1>");
    expect(text).toMatch(/<b>3<\/b><span>deliveries, last hour<\/span>/);
    expect(text).toMatch(/status=applied[^"]*">3<\/a>/);
    expect(text).toContain("0.00%");
  });

  it("users: found by id, email, username; a user's page lists emails and organizations", async () => {
    for (const q of [seeded.userId, seeded.email, seeded.email.toUpperCase(), seeded.username]) {
      const { text } = await session.get(`/users?q=${encodeURIComponent(q)}`);
      expect({ q, found: text.includes(`/dashboard/users/${seeded.userId}`) }).toEqual({ q, found: true });
    }
    expect((await session.get("/users?q=nobody%40example.com")).text).toContain("No user matches.");
    const { text } = await session.get(`/users/${seeded.userId}`);
    expect(text).toContain(seeded.email);
    expect(text).toContain(`/dashboard/organizations/${seeded.orgId}`);
    expect((await session.get("/users/user_missing")).status).toBe(404);
  });

  it("organizations: found by id and slug; an organization's page lists its members", async () => {
    for (const q of [seeded.orgId, seeded.slug]) {
      const { text } = await session.get(`/organizations?q=${encodeURIComponent(q)}`);
      expect({ q, found: text.includes(`/dashboard/organizations/${seeded.orgId}`) }).toEqual({ q, found: true });
    }
    const { text } = await session.get(`/organizations/${seeded.orgId}`);
    expect(text).toContain("Members (1)");
    expect(text).toContain(`/dashboard/users/${seeded.userId}`);
  });

  it("runs: backfill and reconcile runs with their status", async () => {
    expect((await session.get("/runs")).text).toContain("No run yet.");
    await insertRun(app.store.db, { kind: "backfill", objects: "users,organizations", at: Date.now() });
    const { text } = await session.get("/runs");
    expect(text).toContain("backfill");
    expect(text).toContain("users,organizations");
    expect(text).toContain('class="badge running"');
  });

  it("answers 404 not_found for an unknown page and 405 for another method", async () => {
    const missing = await session.get("/nope");
    expect([missing.status, missing.headers.get("clerk-sync-error-code")]).toEqual([404, "not_found"]);
    const bad = await session.get("/users/%E0%A4%A");
    expect(bad.status).toBe(404);
    const put = await fetch(`${app.dashboard}/users`, { method: "PUT", headers: { cookie: session.cookie } });
    expect([put.status, code(put)]).toEqual([405, "method_not_allowed"]);
  });
});

describe("deliveries", () => {
  it("lists deliveries filtered by status, type, object id, svix-id and time; a bad filter is invalid_filter", async () => {
    const all = await session.get("/deliveries");
    expect(all.status).toBe(200);
    expect(all.text).toContain(seeded.userDelivery);
    const byType = await session.get("/deliveries?type=organization.created");
    expect(byType.text).not.toContain(seeded.userDelivery);
    expect(byType.text).toContain("organization.created");
    expect((await session.get(`/deliveries?object_id=${seeded.userId}`)).text).toContain(seeded.userDelivery);
    expect((await session.get(`/deliveries?svix_id=${seeded.userDelivery}`)).text).toContain(seeded.userDelivery);
    expect((await session.get("/deliveries?status=failed")).text).toContain("No delivery matches.");
    expect((await session.get("/deliveries?since=2999-01-01")).text).toContain("No delivery matches.");
    const bad = await session.get("/deliveries?status=bogus");
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("[invalid_filter]");
  });

  it("shows a delivery: its payload escaped, its attempts, the rows it touched", async () => {
    const { status, text } = await session.get(`/deliveries/${seeded.userDelivery}`);
    expect(status).toBe(200);
    expect(text).not.toContain(XSS);
    expect(text).toContain("&lt;script&gt;");
    expect(text).toContain("<h2>Attempts</h2>");
    expect(text).toMatch(/<td>webhook<\/td><td><span class="badge applied">applied<\/span><\/td>\s*<td>200<\/td>/);
    expect(text).toContain(`<b>clerk_users</b> <code>${seeded.userId}</code>`);
    expect(text).toContain(`/dashboard/deliveries/${seeded.userDelivery}/replay`);
    expect((await session.get("/deliveries/msg_missing")).status).toBe(404);
  });
});
