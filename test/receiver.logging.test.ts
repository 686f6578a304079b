/**
 * In-app receivers log failures without being asked (Clerk's guide logs every delivery; a
 * receiver that stays silent hides a wrong secret for days), and a missing secret fails on
 * `ready()` or the first delivery with a coded error naming the variable. The Next.js route
 * behind a real HTTP server, the console spied on.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createClerkSyncRoute } from "../src/adapters/next.js";
import { isClerkSyncError } from "../src/core/errors.js";
import { silentLogger } from "../src/core/logger.js";
import { type ClerkSync, type ClerkSyncOptions, createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { generateSecret } from "../src/server/env-files.js";
import { freshExample } from "../src/testing/fixtures.js";
import { signDelivery } from "../src/testing/sign.js";
import { type Served, serveWebHandler } from "./helpers/http-servers.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("receiver-logging");

const open: { served: Served; sync: ClerkSync }[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const { served, sync } of open.splice(0)) {
    await served.close();
    await sync.close();
  }
});

/** Every line the console got, by method, with the JSON fields of clerk-sync's lines parsed. */
function spyConsole() {
  const lines: { level: string; text: string; fields: Record<string, unknown> }[] = [];
  for (const level of ["debug", "info", "log", "warn", "error"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      const text = args.map(String).join(" ");
      const json = text.indexOf("{");
      lines.push({ level, text, fields: json < 0 ? {} : JSON.parse(text.slice(json)) });
    });
  }
  return lines;
}

async function mount(env: Record<string, string>, options: ClerkSyncOptions = {}) {
  const sync = createClerkSync({ env: { DATABASE_URL: `file:${join(tempDir(), "app.db")}`, ...env }, ...options });
  const served = await serveWebHandler(createClerkSyncRoute(sync).POST);
  open.push({ served, sync });
  return {
    sync,
    async post(secret: string) {
      const signed = signDelivery({ secret, payload: JSON.stringify(freshExample("user.created")) });
      const response = await fetch(`${served.url}/api/webhooks`, {
        method: "POST",
        headers: signed.headers,
        body: signed.body as string,
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
  };
}

describe("in-app receivers log failures by default", () => {
  it("logs a refused delivery as a warning with its code, never the secret, and an applied one not at all", async () => {
    const lines = spyConsole();
    const secret = generateSecret();
    const route = await mount({ CLERK_WEBHOOK_SIGNING_SECRET: secret });

    expect((await route.post(secret)).body.status).toBe("applied");
    expect(lines).toEqual([]);

    const wrong = generateSecret();
    expect((await route.post(wrong)).status).toBe(401);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "warn", fields: { code: "invalid_signature", status: 401 } });
    for (const s of [secret, wrong]) expect(lines[0]?.text).not.toContain(s.slice("whsec_".length));
  });

  it("prints nothing with silentLogger, and debug lines too with logLevel debug", async () => {
    const lines = spyConsole();
    const secret = generateSecret();
    const silent = await mount({ CLERK_WEBHOOK_SIGNING_SECRET: secret }, { logger: silentLogger });
    expect((await silent.post(generateSecret())).status).toBe(401);
    expect(lines).toEqual([]);

    const chatty = await mount({ CLERK_WEBHOOK_SIGNING_SECRET: secret }, { logLevel: "debug" });
    expect((await chatty.post(secret)).body.status).toBe("applied");
    expect(lines).toContainEqual(
      expect.objectContaining({ level: "debug", fields: expect.objectContaining({ outcome: "applied" }) }),
    );
  });
});

describe("a missing signing secret", () => {
  it("fails ready() with invalid_config naming CLERK_WEBHOOK_SIGNING_SECRET", async () => {
    spyConsole();
    const sync = createClerkSync({ env: { DATABASE_URL: `file:${join(tempDir(), "app.db")}` } });
    const error = await sync.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isClerkSyncError(error, "invalid_config")).toBe(true);
    expect((error as Error).message).toContain("CLERK_WEBHOOK_SIGNING_SECRET");
    await sync.close();
  });

  it("answers the first delivery with invalid_config naming the variable, and logs it", async () => {
    const lines = spyConsole();
    const route = await mount({});
    const reply = await route.post(generateSecret());
    expect(reply.status).toBe(500);
    const error = reply.body.error as { code: string; message: string };
    expect(error.code).toBe("invalid_config");
    expect(error.message).toContain("CLERK_WEBHOOK_SIGNING_SECRET");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", fields: { code: "invalid_config" } });
    expect(lines[0]?.text).toContain("CLERK_WEBHOOK_SIGNING_SECRET");
  });

  it("logs a malformed setting on the delivery it refuses", async () => {
    const lines = spyConsole();
    const route = await mount({ CLERK_WEBHOOK_SIGNING_SECRET: generateSecret(), CLERK_SYNC_DELETE_MODE: "sometimes" });
    expect((await route.post(generateSecret())).body.error).toMatchObject({ code: "invalid_config" });
    expect(lines).toMatchObject([{ level: "error", fields: { code: "invalid_config" } }]);
  });
});
