/**
 * In-app receivers read the same `CLERK_SYNC_*` variables as the service: each test mounts the
 * Next.js route (the adapter that has no other way to configure them) behind a real HTTP server,
 * sends signed deliveries and reads the SQLite file back with SQL. Explicit options win.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createClerkSyncRoute } from "../src/adapters/next.js";
import type { ClerkEventType } from "../src/core/events.js";
import type { Logger, LogLevel } from "../src/core/logger.js";
import { type ClerkSync, type ClerkSyncOptions, createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { generateSecret } from "../src/server/env-files.js";
import { freshExample } from "../src/testing/fixtures.js";
import { signDelivery } from "../src/testing/sign.js";
import { type Served, serveWebHandler } from "./helpers/http-servers.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("receiver-env");

type Row = Record<string, unknown>;

/** One mounted route, its secret and its SQLite file. */
interface Mounted {
  sync: ClerkSync;
  secret: string;
  dbFile: string;
  /** Signs and POSTs; `ageSeconds` signs that long ago; `pad` appends spaces to the body. */
  post(
    event: object,
    options?: { ageSeconds?: number; pad?: number },
  ): Promise<{ status: number; body: Row; id: string }>;
  rows(query: string, ...params: unknown[]): Row[];
}

const open: { served: Served; sync: ClerkSync }[] = [];
afterEach(async () => {
  for (const { served, sync } of open.splice(0)) {
    await served.close();
    await sync.close();
  }
});

/** The Next.js route on a fresh SQLite file, configured by `env` (secret and DATABASE_URL added) and `options`. */
async function mount(env: Record<string, string>, options: ClerkSyncOptions = {}): Promise<Mounted> {
  const secret = generateSecret();
  const dbFile = join(tempDir(), "app.db");
  const sync = createClerkSync({
    env: { CLERK_WEBHOOK_SIGNING_SECRET: secret, DATABASE_URL: `file:${dbFile}`, ...env },
    ...options,
  });
  const { POST } = createClerkSyncRoute(sync);
  const served = await serveWebHandler(POST);
  open.push({ served, sync });
  return {
    sync,
    secret,
    dbFile,
    async post(event, { ageSeconds = 0, pad = 0 } = {}) {
      const payload = JSON.stringify(event) + " ".repeat(pad);
      const signed = signDelivery({ secret, payload, timestamp: Math.floor(Date.now() / 1000) - ageSeconds });
      const response = await fetch(`${served.url}/api/webhooks`, {
        method: "POST",
        headers: signed.headers,
        body: payload,
      });
      return { status: response.status, body: (await response.json()) as Row, id: signed.id };
    },
    rows(query, ...params) {
      if (!existsSync(dbFile)) return [];
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(query).all(...params) as Row[];
      } finally {
        db.close();
      }
    },
  };
}

const event = (type: ClerkEventType, options: { id?: string; now?: number } = {}) => freshExample(type, options);

describe("in-app receivers read the CLERK_SYNC_* variables", () => {
  it("CLERK_SYNC_EVENTS=user.*: the user is mirrored, the organization recorded as ignored and not mirrored", async () => {
    const app = await mount({ CLERK_SYNC_EVENTS: "user.*" });
    const organization = event("organization.created");
    const orgReply = await app.post(organization);
    expect(orgReply.status).toBe(200);
    expect(orgReply.body.status).toBe("ignored");
    expect(app.rows("SELECT status FROM clerk_webhook_events WHERE svix_id = ?", orgReply.id)).toEqual([
      { status: "ignored" },
    ]);
    expect(app.rows("SELECT id FROM clerk_organizations")).toEqual([]);

    const user = event("user.created");
    const userReply = await app.post(user);
    expect(userReply.status).toBe(200);
    expect(userReply.body.status).toBe("applied");
    expect(app.rows("SELECT id FROM clerk_users")).toEqual([{ id: user.data.id }]);
  });

  it("a list separated by commas and spaces, and the events option winning over the variable", async () => {
    const listed = await mount({ CLERK_SYNC_EVENTS: " organization.created, user.created  session.*" });
    expect((await listed.post(event("organization.created"))).body.status).toBe("applied");
    expect((await listed.post(event("organization.updated"))).body.status).toBe("ignored");
    expect((await listed.post(event("user.created"))).body.status).toBe("applied");

    const overridden = await mount({ CLERK_SYNC_EVENTS: "user.*" }, { events: ["organization.*"] });
    const organization = event("organization.created");
    expect((await overridden.post(organization)).body.status).toBe("applied");
    expect(overridden.rows("SELECT id FROM clerk_organizations")).toEqual([{ id: organization.data.id }]);
    expect((await overridden.post(event("user.created"))).body.status).toBe("ignored");
  });

  it("CLERK_SYNC_DELETE_MODE=hard clears the deleted row's data; deleteMode: 'soft' wins over it", async () => {
    const at = Date.now();
    for (const [options, firstName] of [[{}, null] as const, [{ deleteMode: "soft" }, "kept"] as const]) {
      const app = await mount({ CLERK_SYNC_DELETE_MODE: "hard" }, options);
      const created = event("user.created", { now: at });
      created.data.first_name = "kept";
      expect((await app.post(created)).body.status).toBe("applied");
      const deleted = await app.post(event("user.deleted", { id: String(created.data.id), now: at + 1_000 }));
      expect(deleted.body.status).toBe("applied");
      expect(app.rows("SELECT first_name, deleted_at FROM clerk_users")).toEqual([
        { first_name: firstName, deleted_at: at + 1_000 },
      ]);
    }
  });

  it("CLERK_SYNC_MAX_BODY_BYTES: one byte over the limit is 413 and not written", async () => {
    const user = event("user.created");
    const size = Buffer.byteLength(JSON.stringify(user));
    const app = await mount({ CLERK_SYNC_MAX_BODY_BYTES: String(size + 10) });
    expect(app.sync.maxBodyBytes).toBe(size + 10);
    const over = await app.post(user, { pad: 11 });
    expect(over.status).toBe(413);
    expect((over.body.error as Row).code).toBe("payload_too_large");
    expect(app.rows("SELECT id FROM clerk_users")).toEqual([]);
    expect((await app.post(user, { pad: 10 })).body.status).toBe("applied");
  });

  it("CLERK_SYNC_TOLERANCE_SECONDS: a delivery signed longer ago is 401 timestamp_too_old", async () => {
    const app = await mount({ CLERK_SYNC_TOLERANCE_SECONDS: "60" });
    const late = await app.post(event("user.created"), { ageSeconds: 120 }); // within the default 300 s
    expect(late.status).toBe(401);
    expect((late.body.error as Row).code).toBe("timestamp_too_old");
    expect((await app.post(event("user.created"), { ageSeconds: 30 })).body.status).toBe("applied");
  });

  it("CLERK_SYNC_MIGRATE=false: no tables are created, so the delivery is 503 and nothing is written", async () => {
    const app = await mount({ CLERK_SYNC_MIGRATE: "false" });
    const reply = await app.post(event("user.created"));
    expect(reply.status).toBe(503);
    expect((reply.body.error as Row).code).toBe("store_unavailable");
    expect(app.rows("SELECT name FROM sqlite_master WHERE name LIKE 'clerk_%'")).toEqual([]);
  });

  it("LOG_LEVEL filters the receiver's logger (only when it has one); logLevel wins over it", async () => {
    const logged = (into: string[]): Logger => {
      const at = (level: LogLevel) => (message: string) => into.push(`${level} ${message}`);
      return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
    };
    const quiet: string[] = [];
    const app = await mount({ LOG_LEVEL: "warn" }, { logger: logged(quiet) });
    expect((await app.post(event("user.created"))).body.status).toBe("applied");
    expect((await app.post(event("user.created"), { ageSeconds: 3_600 })).status).toBe(401);
    expect(quiet).toEqual(["warn delivery rejected"]);

    const chatty: string[] = [];
    const explicit = await mount({ LOG_LEVEL: "warn" }, { logger: logged(chatty), logLevel: "debug" });
    expect((await explicit.post(event("user.created"))).body.status).toBe("applied");
    expect(chatty).toContain("debug delivery");

    // Without a logger, LOG_LEVEL is the app's own business: even a value clerk-sync does not know is fine.
    const silent = await mount({ LOG_LEVEL: "verbose" });
    expect((await silent.post(event("user.created"))).body.status).toBe("applied");
  });

  it("process.env is read when no env is given", async () => {
    const secret = generateSecret();
    const dbFile = join(tempDir(), "process-env.db");
    const saved = { ...process.env };
    Object.assign(process.env, {
      CLERK_WEBHOOK_SIGNING_SECRET: secret,
      DATABASE_URL: `file:${dbFile}`,
      CLERK_SYNC_EVENTS: "user.*",
    });
    const sync = createClerkSync();
    try {
      const payload = JSON.stringify(event("organization.created"));
      const signed = signDelivery({ secret, payload });
      const request = new Request("http://localhost/api/webhooks", {
        method: "POST",
        headers: signed.headers,
        body: payload,
      });
      const reply = await createClerkSyncRoute(sync).POST(request);
      expect(reply.status).toBe(200);
      expect(((await reply.json()) as Row).status).toBe("ignored");
    } finally {
      await sync.close();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});

describe("a malformed variable is invalid_config, and nothing is written", () => {
  const cases: Record<string, string>[] = [
    { CLERK_SYNC_EVENTS: "user*" },
    { CLERK_SYNC_EVENTS: "user.*,*.created" },
    { CLERK_SYNC_DELETE_MODE: "sometimes" },
    { CLERK_SYNC_MAX_BODY_BYTES: "1mb" },
    { CLERK_SYNC_TOLERANCE_SECONDS: "-5" },
    { CLERK_SYNC_MIGRATE: "yes" },
  ];
  for (const env of cases) {
    it(JSON.stringify(env), async () => {
      const app = await mount(env);
      const reply = await app.post(event("user.created"));
      expect(reply.status).toBe(500);
      expect((reply.body.error as Row).code).toBe("invalid_config");
      await expect(app.sync.ready()).rejects.toMatchObject({ code: "invalid_config" });
      expect(existsSync(app.dbFile)).toBe(false);
    });
  }

  it("LOG_LEVEL, when the receiver has a logger", async () => {
    const app = await mount({ LOG_LEVEL: "loud" }, { logger: { debug() {}, info() {}, warn() {}, error() {} } });
    const reply = await app.post(event("user.created"));
    expect(reply.status).toBe(500);
    expect((reply.body.error as Row).code).toBe("invalid_config");
    expect(existsSync(app.dbFile)).toBe(false);
  });
});
