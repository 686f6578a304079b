/**
 * The dashboard in real Chromium (Debian's, through playwright-core): sign in with the token,
 * refused without it, filter the deliveries, open one, replay a delivery whose hook threw once
 * the hook is fixed and see it applied; CSRF refused. No page may load anything from elsewhere.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshExample } from "../src/testing/fixtures.js";
import { browserMissing, launchChromium } from "./helpers/browser.js";
import { type DashboardApp, startDashboardApp, TEST_TOKEN } from "./helpers/dashboard-app.js";
import { sqliteFileTarget } from "./helpers/databases.js";

const CI = process.env.CI === "true" || process.env.CI === "1";
const target = sqliteFileTarget();
let app: DashboardApp;
let browser: Browser;
let page: Page;
/** The cause a user fixes: while true, the user.created hook throws. */
let hookBroken = true;
const external: string[] = [];

describe.skipIf(Boolean(browserMissing) && !CI)(
  `the dashboard in Chromium${browserMissing ? ` (${browserMissing})` : ""}`,
  () => {
    beforeAll(async () => {
      if (browserMissing) throw new Error(browserMissing);
      app = await startDashboardApp(await target.fresh(), {
        setup: (sync) =>
          sync.on("user.created", async () => {
            if (hookBroken) throw new Error("welcome-email service down");
          }),
      });
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
      page.setDefaultTimeout(5_000);
      await page.route("**/*", async (route) => {
        const url = new URL(route.request().url());
        if (url.host === new URL(app.url).host) return route.continue();
        external.push(url.href);
        return route.abort();
      });
    }, 30_000);
    afterAll(async () => {
      await browser?.close();
      await app?.close();
    });

    it("refuses the dashboard without the token, and a wrong one", async () => {
      const response = await page.goto(`${app.dashboard}/deliveries`);
      expect(response?.status()).toBe(401);
      expect(await page.locator("h1").textContent()).toBe("Sign in");
      await page.getByLabel("Token").fill("not-the-token-at-all");
      await page.getByRole("button", { name: "Sign in" }).click();
      expect(await page.getByRole("alert").textContent()).toBe("That token is not right.");
      expect((await page.context().cookies()).length).toBe(0);
    });

    it("signs in with the token and lands on the page asked for", async () => {
      await page.getByLabel("Token").fill(TEST_TOKEN);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(`${app.dashboard}/deliveries`);
      expect(await page.locator("h1").textContent()).toBe("Deliveries");
      const [cookie] = await page.context().cookies();
      expect(cookie).toMatchObject({
        name: "clerk_sync_dashboard",
        httpOnly: true,
        sameSite: "Strict",
        path: "/dashboard",
      });
    });

    it("filters the deliveries, opens the failed one, replays it after the fix and sees it applied", async () => {
      const failing = freshExample("user.created");
      const userId = String(failing.data.id);
      const failed = await app.deliver(failing);
      expect(failed.status).toBe(500); // hook_failed: Svix would retry
      const org = await app.deliver(freshExample("organization.created"));
      expect(org.status).toBe(200);

      await page.goto(`${app.dashboard}/deliveries`);
      expect(await page.locator(`a:text("${failed.id}")`).count()).toBe(1);
      expect(await page.locator(`a:text("${org.id}")`).count()).toBe(1);
      await page.getByLabel("Status").selectOption("failed");
      await page.getByRole("button", { name: "Filter" }).click();
      await page.waitForURL(/status=failed/);
      expect(await page.locator(`a:text("${org.id}")`).count()).toBe(0);
      await page.locator(`a:text("${failed.id}")`).click();
      await page.waitForURL(`${app.dashboard}/deliveries/${failed.id}`);
      expect(await page.locator("dd .badge").first().textContent()).toBe("failed");
      expect(await page.locator("main").textContent()).toContain("hook_failed");

      hookBroken = false; // the cause is fixed
      await page.getByRole("button", { name: "Replay" }).click();
      await page.waitForURL(/replayed=applied/);
      expect(await page.getByRole("status").textContent()).toContain("applied");
      expect(await page.locator("dd .badge").first().textContent()).toBe("applied");
      // Two attempts now: the webhook's that failed, the replay's that applied.
      const sources = await page.locator("h2:text('Attempts') + .scroll tbody tr td:nth-child(3)").allTextContents();
      expect(sources.sort()).toEqual(["replay", "webhook"]);
      const row = await app.store.db.selectFrom("clerk_users").select("id").where("id", "=", userId).executeTakeFirst();
      expect(row?.id).toBe(userId);
    });

    it("fits a phone: no page is wider than a 390 px screen", async () => {
      const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
      try {
        await phone.context().addCookies(await page.context().cookies());
        const failed = (
          await app.store.db.selectFrom("clerk_webhook_events").select("svix_id").executeTakeFirstOrThrow()
        ).svix_id;
        for (const path of ["", "/deliveries", `/deliveries/${failed}`, "/users", "/organizations", "/runs"]) {
          await phone.goto(`${app.dashboard}${path}`);
          expect(await phone.locator("main h1").count()).toBe(1);
          const width = await phone.evaluate(() => document.documentElement.scrollWidth);
          expect({ path, width }).toEqual({ path, width: 390 });
        }
      } finally {
        await phone.close();
      }
    });

    it("refuses a POST without the CSRF token or from another origin: 403 csrf_failed", async () => {
      const replayUrl = `${app.dashboard}/deliveries/msg_x/replay`;
      const withoutToken = await page.request.post(replayUrl, { form: { csrf: "" }, headers: { origin: app.url } });
      expect([withoutToken.status(), withoutToken.headers()["clerk-sync-error-code"]]).toEqual([403, "csrf_failed"]);
      const html = await page.content();
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
      expect(csrf).not.toBe("");
      const foreign = await page.request.post(replayUrl, {
        form: { csrf },
        headers: { origin: "https://evil.example" },
      });
      expect([foreign.status(), foreign.headers()["clerk-sync-error-code"]]).toEqual([403, "csrf_failed"]);
      expect(external).toEqual([]);
    });
  },
);
