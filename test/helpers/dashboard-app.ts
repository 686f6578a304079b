import { createServer } from "node:http";
import { toNodeListener } from "../../src/adapters/node.js";
import { silentLogger } from "../../src/core/logger.js";
import { createDashboard, type DashboardOptions } from "../../src/dashboard/dashboard.js";
import { type ClerkSync, createClerkSync } from "../../src/receiver/create-clerk-sync.js";
import { generateSecret } from "../../src/server/env-files.js";
import type { ClerkSyncStore } from "../../src/store/store.js";
import { signDelivery } from "../../src/testing/sign.js";
import { listening } from "./http-servers.js";

/** The token every test dashboard signs in with. */
export const TEST_TOKEN = "test-dashboard-token-0123456789";

/** An app as a user would build it: a webhook receiver and the dashboard on one node:http server. */
export interface DashboardApp {
  url: string;
  /** The dashboard's URL (`{url}/dashboard`). */
  dashboard: string;
  sync: ClerkSync;
  store: ClerkSyncStore;
  /** Signs and posts an event to the receiver; answers the HTTP status and the `svix-id`. */
  deliver(event: Record<string, unknown>, id?: string): Promise<{ status: number; id: string }>;
  close(): Promise<void>;
}

export async function startDashboardApp(
  store: ClerkSyncStore,
  options: Partial<DashboardOptions> & { setup?: (sync: ClerkSync) => void } = {},
): Promise<DashboardApp> {
  const secret = generateSecret();
  const sync = createClerkSync({ secrets: secret, store, env: {}, logger: silentLogger });
  options.setup?.(sync);
  await sync.ready();
  const webhook = toNodeListener(sync);
  const dashboard = createDashboard({ sync, store, token: TEST_TOKEN, ...options });
  const served = await listening(
    createServer((req, res) => {
      if (req.url?.startsWith("/dashboard")) return dashboard(req, res);
      void webhook(req, res);
    }).listen(0, "127.0.0.1"),
  );
  return {
    url: served.url,
    dashboard: `${served.url}/dashboard`,
    sync,
    store,
    async deliver(event, id) {
      const signed = signDelivery({ secret, payload: event, ...(id ? { id } : {}) });
      const response = await fetch(`${served.url}/api/webhooks`, {
        method: "POST",
        headers: signed.headers,
        body: signed.body as string,
      });
      await response.arrayBuffer();
      return { status: response.status, id: signed.id };
    },
    async close() {
      await served.close();
      await sync.close();
    },
  };
}

/** A browser's session over plain HTTP: its cookie, and the CSRF token read from a page. */
export interface HttpSession {
  cookie: string;
  /** GETs a dashboard path (`/deliveries?status=failed`) with the session. */
  get(path: string): Promise<{ status: number; text: string; headers: Headers }>;
  /** The CSRF token the session's forms carry. */
  csrf(): Promise<string>;
}

/** Signs in over HTTP as the login form does (same Origin) and answers the session. */
export async function signIn(app: DashboardApp, token = TEST_TOKEN): Promise<HttpSession> {
  const response = await fetch(`${app.dashboard}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: app.url, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, next: "/dashboard" }),
  });
  if (response.status !== 303) throw new Error(`sign-in answered ${response.status}`);
  const cookie = (response.headers.get("set-cookie") ?? "").split(";", 1)[0] as string;
  const get = async (path: string) => {
    const r = await fetch(`${app.dashboard}${path}`, { headers: { cookie, accept: "text/html" }, redirect: "manual" });
    return { status: r.status, text: await r.text(), headers: r.headers };
  };
  return {
    cookie,
    get,
    async csrf() {
      const { text } = await get("");
      const match = /name="csrf" value="([^"]+)"/.exec(text);
      if (!match?.[1]) throw new Error("no CSRF token on the page");
      return match[1];
    },
  };
}

/** The script every XSS check plants in stored data; a page must show it as text. */
export const XSS = `<script>alert("xss")</script>`;

/** What {@link seed} delivered. */
export interface Seeded {
  userId: string;
  email: string;
  username: string;
  orgId: string;
  slug: string;
  userDelivery: string;
}

/**
 * Delivers a user (with a script in their name and metadata), an organization and the user's
 * membership in it, through the receiver.
 */
export async function seed(app: DashboardApp): Promise<Seeded> {
  const { freshExample } = await import("../../src/testing/fixtures.js");
  const user = freshExample("user.created");
  const userId = String(user.data.id);
  const username = `jane_${userId.slice(-6).toLowerCase()}`;
  Object.assign(user.data, { first_name: XSS, last_name: "Doe", username, public_metadata: { note: XSS } });
  const emails = user.data.email_addresses as { email_address: string }[];
  const email = emails[0]?.email_address as string;
  const org = freshExample("organization.created");
  const orgId = String(org.data.id);
  const slug = `acme-${orgId.slice(-6).toLowerCase()}`;
  Object.assign(org.data, { name: `Acme ${XSS}`, slug });
  const membership = freshExample("organizationMembership.created");
  Object.assign(membership.data, {
    organization: { ...(membership.data.organization as object), id: orgId },
    public_user_data: { ...(membership.data.public_user_data as object), user_id: userId },
  });
  const delivered = await app.deliver(user);
  for (const event of [org, membership]) {
    const { status } = await app.deliver(event);
    if (status !== 200) throw new Error(`seed delivery answered ${status}`);
  }
  if (delivered.status !== 200) throw new Error(`seed delivery answered ${delivered.status}`);
  return { userId, email, username, orgId, slug, userDelivery: delivered.id };
}
