/**
 * Screenshots of every dashboard page, desktop and phone, into docs/dashboard/*.png.
 * Run: node --import tsx scripts/dashboard-screenshots.ts
 * A temp SQLite database gets a small, fixed story (users, an organization and its members, a
 * failed delivery, rejected requests, a backfill run); the pages are shot in Debian's Chromium.
 */

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { toNodeListener } from "../src/adapters/node.js";
import { silentLogger } from "../src/core/logger.js";
import { createDashboard } from "../src/dashboard/dashboard.js";
import { createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { generateSecret } from "../src/server/env-files.js";
import { insertRun } from "../src/store/runs.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { freshExample } from "../src/testing/fixtures.js";
import { signDelivery } from "../src/testing/sign.js";

const OUT = new URL("../docs/dashboard/", import.meta.url).pathname;
const TOKEN = "screenshot-token-0123456789";
const dir = mkdtempSync(join(tmpdir(), "clerk-sync-shots-"));
const store = openSqliteStore({ filename: join(dir, "shots.db") });
const secret = generateSecret();
let hookBroken = true;
const sync = createClerkSync({ secrets: secret, store, env: {}, logger: silentLogger }).on(
  "user.created",
  async (e) => {
    if (hookBroken && e.data.first_name === "Grace") throw new Error("welcome-email service timed out");
  },
);
await sync.ready();
const webhook = toNodeListener(sync);
const dashboard = createDashboard({ sync, store, token: TOKEN });
const server = createServer((req, res) =>
  req.url?.startsWith("/dashboard") ? dashboard(req, res) : void webhook(req, res),
);
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

async function deliver(event: object, headers: Record<string, string | null> = {}): Promise<string> {
  const signed = signDelivery({ secret, payload: event });
  const sent: Record<string, string> = { ...signed.headers };
  for (const [k, v] of Object.entries(headers)) {
    if (v === null) delete sent[k];
    else sent[k] = v;
  }
  await (await fetch(`${base}/api/webhooks`, { method: "POST", headers: sent, body: signed.body as string })).text();
  return signed.id;
}

const names = [
  ["Ada", "Lovelace"],
  ["Alan", "Turing"],
  ["Grace", "Hopper"],
  ["Edsger", "Dijkstra"],
  ["Barbara", "Liskov"],
];
const userIds: string[] = [];
let failedId = "";
for (const [first, last] of names) {
  const user = freshExample("user.created");
  Object.assign(user.data, { first_name: first, last_name: last, username: String(first).toLowerCase() });
  userIds.push(String(user.data.id));
  const id = await deliver(user);
  if (first === "Grace") failedId = id;
}
const org = freshExample("organization.created");
Object.assign(org.data, { name: "Analytical Engines", slug: "analytical-engines" });
await deliver(org);
for (const userId of userIds.slice(0, 4)) {
  const m = freshExample("organizationMembership.created");
  Object.assign(m.data, {
    organization: { ...(m.data.organization as object), id: org.data.id },
    public_user_data: { ...(m.data.public_user_data as object), user_id: userId },
  });
  await deliver(m);
}
await deliver(freshExample("session.created"));
await deliver(freshExample("user.updated"), { "svix-signature": "v1,AAAA" });
await deliver(freshExample("user.updated"), { "svix-timestamp": "1600000000" });
await deliver(freshExample("user.updated"), { "svix-id": null });
await insertRun(store.db, { kind: "backfill", objects: "users,organizations,memberships", at: Date.now() - 600_000 });
hookBroken = false;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
mkdirSync(OUT, { recursive: true });
const pages: [string, string][] = [
  ["login", "/dashboard/login"],
  ["health", "/dashboard"],
  ["deliveries", "/dashboard/deliveries"],
  ["delivery", `/dashboard/deliveries/${failedId}`],
  ["users", "/dashboard/users"],
  ["user", `/dashboard/users/${userIds[0]}`],
  ["organization", `/dashboard/organizations/${String(org.data.id)}`],
  ["runs", "/dashboard/runs"],
];
for (const [device, viewport] of [
  ["desktop", { width: 1280, height: 800 }],
  ["phone", { width: 390, height: 844 }],
] as const) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, colorScheme: "light" });
  const page = await context.newPage();
  for (const [name, path] of pages) {
    if (name !== "login" && (await context.cookies()).length === 0) {
      await page.goto(`${base}/dashboard/login`);
      await page.getByLabel("Token").fill(TOKEN);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(`${base}/dashboard`);
    }
    await page.goto(`${base}${path}`);
    await page.screenshot({ path: join(OUT, `${name}-${device}.png`), fullPage: device === "desktop" });
    console.log(`docs/dashboard/${name}-${device}.png`);
  }
  await context.close();
}
await browser.close();
server.close();
await sync.close();
rmSync(dir, { recursive: true, force: true });
