/**
 * The example apps as a user runs them: examples/nextjs under `next start` (clerkMiddleware in
 * proxy.ts, the one-line route, a server-rendered listing page) and examples/express,
 * examples/hono and examples/node (their built servers), each a real process on a temp SQLite file, driven with signed deliveries and checked
 * with SQL and through their listing pages, plus the Next.js page in headless Chromium.
 *
 * They need the examples installed and built (scripts/build-examples.sh). Under CI a missing
 * build fails; locally those tests are skipped with the reason in their name.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshExample } from "../src/testing/fixtures.js";
import { signupScenario } from "../src/testing/scenario.js";
import { EXAMPLES, ExampleApp, type ExampleSpec, type Reply } from "./helpers/example-app.js";
import { makeTempDir } from "./helpers/service-process.js";

const CI = Boolean(process.env.CI);
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const HOW_TO_BUILD = "run scripts/build-examples.sh (CI runs it before the tests)";

/** Row counts of every clerk_* table. */
function tableCounts(app: ExampleApp): Record<string, number> {
  const tables = app.query<{ name: string }>(
    "select name from sqlite_master where type = 'table' and name like 'clerk_%' order by name",
  );
  return Object.fromEntries(
    tables.map(({ name }) => [name, app.query<{ n: number }>(`select count(*) as n from "${name}"`)[0]?.n ?? 0]),
  );
}

/** The tests every example passes. */
function describeExample(spec: ExampleSpec, extra?: (app: () => ExampleApp) => void): void {
  const missing = spec.missing();
  if (missing && !CI) console.warn(`Skipping examples/${spec.name}: ${missing}; ${HOW_TO_BUILD}.`);
  describe(`examples/${spec.name}`, () => {
    if (missing) {
      // CI must not pass without the examples: fail there, skip (with the reason) locally.
      it.skipIf(!CI)(`is built (${missing}: ${HOW_TO_BUILD})`, () => {
        throw new Error(`${missing}: ${HOW_TO_BUILD}`);
      });
      return;
    }

    const app = new ExampleApp(spec);
    const scenario = signupScenario();
    const ownerId = scenario[0]?.event.data.id as string;
    const memberId = scenario.find((s, i) => i > 0 && s.type === "user.created")?.event.data.id as string;
    const orgId = scenario.find((s) => s.type === "organization.created")?.event.data.id as string;
    const replies: (Reply & { id: string })[] = [];

    beforeAll(async () => {
      await app.start();
      for (const { event } of scenario) replies.push(await app.send(event));
    });
    afterAll(() => app.stop());

    it("applies every delivery of the signup scenario (2xx, applied)", () => {
      expect(replies.map((r) => r.status)).toEqual(scenario.map(() => 200));
      expect(replies.map((r) => r.json?.status)).toEqual(scenario.map(() => "applied"));
      const deliveries = app.query<{ svix_id: string; status: string; type: string }>(
        "select svix_id, status, type from clerk_webhook_events order by first_received_at, svix_id",
      );
      expect(deliveries).toHaveLength(scenario.length);
      expect(new Set(deliveries.map((d) => d.svix_id))).toEqual(new Set(replies.map((r) => r.id)));
      expect(new Set(deliveries.map((d) => d.status))).toEqual(new Set(["applied"]));
    });

    it("wrote the users, the organization and the memberships (checked with SQL)", () => {
      const users = app.query<{ id: string; first_name: string; primary_email_address: string; deleted_at: number }>(
        "select id, first_name, primary_email_address, deleted_at from clerk_users order by first_name",
      );
      expect(users).toHaveLength(2);
      const member = users.find((u) => u.id === memberId);
      expect(member).toMatchObject({ first_name: "Max", primary_email_address: "max.member@example.com" });
      expect(member?.deleted_at).toBeNull();
      expect(users.find((u) => u.id === ownerId)?.deleted_at).toEqual(expect.any(Number));

      expect(app.query("select id, name, deleted_at from clerk_organizations")).toEqual([
        { id: orgId, name: "Acme Corp", deleted_at: null },
      ]);
      const memberships = app.query<{ user_id: string; role: string; deleted_at: number | null }>(
        "select user_id, role, deleted_at from clerk_organization_memberships where organization_id = ? order by role",
        orgId,
      );
      expect(memberships).toHaveLength(2);
      expect(memberships.find((m) => m.user_id === memberId)).toMatchObject({ role: "org:member", deleted_at: null });
      expect(memberships.find((m) => m.user_id === ownerId)?.deleted_at).toEqual(expect.any(Number));
    });

    it("lists the synced user and organization on its page (server-rendered from the database)", async () => {
      const page = await app.request(app.url, {
        headers: { accept: "text/html", "sec-fetch-dest": "document", "sec-fetch-mode": "navigate" },
      });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toMatch(/^text\/html/);
      expect(page.text).toContain("Max Member");
      expect(page.text).toContain("max.member@example.com");
      expect(page.text).toContain(memberId);
      expect(page.text).toContain("Acme Corp");
      expect(page.text).toContain("Max Member (org:member)");
      // The deleted owner is gone from the live listing.
      expect(page.text).not.toContain("Olivia");
    });

    it("shows a user synced after the first page load (the page is not cached)", async () => {
      const event = freshExample("user.created");
      event.data.first_name = "Nora";
      event.data.last_name = "Newcomer";
      expect((await app.send(event)).status).toBe(200);
      const page = await app.request(app.url);
      expect(page.text).toContain("Nora Newcomer");
    });

    it("treats a retried delivery as a duplicate (200, applied once)", async () => {
      // Newer than the scenario, whose steps are dated up to a few seconds from now.
      const event = freshExample("organization.updated", { id: orgId, now: Date.now() + 60_000 });
      event.data.name = "Acme Corporation";
      const first = await app.send(event);
      const retry = await app.send(event, { id: first.id });
      expect([first.status, first.json?.status]).toEqual([200, "applied"]);
      expect([retry.status, retry.json?.status]).toEqual([200, "duplicate"]);
      expect(app.query("select delivery_count from clerk_webhook_events where svix_id = ?", first.id)).toEqual([
        { delivery_count: 2 },
      ]);
      expect(app.query("select name from clerk_organizations where id = ?", orgId)).toEqual([
        { name: "Acme Corporation" },
      ]);
    });

    it("refuses a bad signature with 401 and writes nothing", async () => {
      const before = tableCounts(app);
      const event = freshExample("user.created");
      const forged = await app.send(event, { secret: `whsec_${Buffer.alloc(24, 7).toString("base64")}` });
      expect(forged.status).toBe(401);
      expect(forged.json?.error?.code).toBe("invalid_signature");
      expect(tableCounts(app)).toEqual(before);
      expect(app.query("select 1 from clerk_webhook_events where svix_id = ?", forged.id)).toEqual([]);
      expect(app.query("select 1 from clerk_users where id = ?", event.data.id)).toEqual([]);
    });

    extra?.(() => app);

    it("logged no uncaught error", () => {
      // e.g. a worker thread that cannot start once bundled (Next.js rewrites require.resolve).
      expect(app.output).not.toMatch(/uncaughtException|unhandledRejection|TypeError|ReferenceError|ERR_[A-Z_]+/);
    });
  });
}

/** The part of playwright-core this test uses (installed in examples/nextjs, not in the root). */
interface Chromium {
  launch(options: { executablePath: string; headless: boolean; args: string[] }): Promise<{
    newPage(options?: { viewport: { width: number; height: number } }): Promise<BrowserPage>;
    close(): Promise<void>;
  }>;
}
interface BrowserPage {
  route(url: string, handler: (route: BrowserRoute) => Promise<void>): Promise<void>;
  goto(url: string): Promise<{ status(): number } | null>;
  getByText(text: string, options: { exact: boolean }): { isVisible(): Promise<boolean> };
  locator(selector: string): { textContent(): Promise<string | null> };
  screenshot(options: { path: string; fullPage: boolean }): Promise<unknown>;
}
interface BrowserRoute {
  request(): { url(): string };
  continue(): Promise<void>;
  abort(): Promise<void>;
}

const [nextSpec, ...nodeServerSpecs] = EXAMPLES as [ExampleSpec, ...ExampleSpec[]];

describeExample(nextSpec, (app) => {
  it("runs the webhook route behind clerkMiddleware (public route, signed out, no call to Clerk)", async () => {
    const reply = await app().send(freshExample("user.created"));
    expect(reply.status).toBe(200);
    // Set by clerkMiddleware(): the proxy ran, found no session, and let the public route through.
    expect(reply.headers.get("x-clerk-auth-status")).toBe("signed-out");
  });

  it("keeps the welcome page (ensureUser after sign-up) for signed-in users: signed out, it is not served", async () => {
    const page = await app().request(`${app().url}/welcome`, {
      headers: { accept: "text/html", "sec-fetch-dest": "document", "sec-fetch-mode": "navigate" },
    });
    // clerkMiddleware's auth.protect() sends a signed-out visitor to sign in, before the page runs.
    expect(page.status).toBeGreaterThanOrEqual(300);
    expect(page.status).toBeLessThan(500);
    expect(page.text).not.toContain("Welcome,");
    expect(page.headers.get("x-clerk-auth-status")).toBe("signed-out");
  });

  const playwrightEntry = join(nextSpec.dir, "node_modules", "playwright-core", "index.mjs");
  const browserMissing = !existsSync(playwrightEntry)
    ? "playwright-core is not installed in examples/nextjs"
    : !existsSync(CHROMIUM)
      ? `no Chromium at ${CHROMIUM} (apt-get install chromium)`
      : undefined;
  it.skipIf(Boolean(browserMissing) && !CI)(
    `shows the synced names in headless Chromium${browserMissing ? ` (${browserMissing})` : ""}`,
    async () => {
      if (browserMissing) throw new Error(browserMissing);
      const { chromium } = (await import(pathToFileURL(playwrightEntry).href)) as { chromium: Chromium };
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
        // The page must load from the app alone: any request elsewhere is refused and reported.
        const external: string[] = [];
        await page.route("**/*", async (route) => {
          const url = new URL(route.request().url());
          if (url.host === new URL(app().url).host) return route.continue();
          external.push(url.href);
          return route.abort();
        });
        const response = await page.goto(app().url);
        expect(response?.status()).toBe(200);
        expect(await page.getByText("Max Member", { exact: true }).isVisible()).toBe(true);
        expect(await page.getByText("Acme Corporation", { exact: true }).isVisible()).toBe(true);
        expect(await page.getByText("Max Member (org:member)", { exact: true }).isVisible()).toBe(true);
        expect(await page.locator("h1").textContent()).toBe("Synced from Clerk");
        const screenshot = process.env.CLERK_SYNC_SCREENSHOT ?? join(makeTempDir(), "nextjs-example.png");
        await page.screenshot({ path: screenshot, fullPage: true });
        expect(existsSync(screenshot)).toBe(true);
        expect(external).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );
});

// examples/express, examples/hono, examples/node: the same tests, each its own server.
for (const spec of nodeServerSpecs) describeExample(spec);
