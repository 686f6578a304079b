/**
 * The contract every framework adapter passes, each against a real HTTP server of its framework
 * on 127.0.0.1 and a real SQLite file read back with SQL. Assertions are on status codes and
 * error codes, never on message text.
 */
import { existsSync, mkdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS, type ErrorCode } from "../../src/core/errors.js";
import { type ClerkSync, type ClerkSyncOptions, createClerkSync } from "../../src/receiver/create-clerk-sync.js";
import { generateSecret } from "../../src/server/env-files.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { freshExample } from "../../src/testing/fixtures.js";
import { signDelivery } from "../../src/testing/sign.js";
import type { Served } from "../helpers/http-servers.js";
import { readText } from "../helpers/http-text.js";
import { useTempDirs } from "../helpers/tmp.js";

/** Where every target mounts the adapter. */
export const WEBHOOK_PATH = "/api/webhooks";

/** Starts a real server of the framework with the adapter for `receiver` at {@link WEBHOOK_PATH}. */
export type Mount = (receiver: ClerkSyncOptions | ClerkSync) => Promise<Served>;

export interface AdapterTarget {
  name: string;
  /** The adapter mounted for every method at the path, so that its own 405 answers. */
  mount: Mount;
  /** Other ways to mount it (behind body parsers, …) and the error a signed delivery gets there, if any. */
  variants?: { name: string; mount: Mount; refuses?: ErrorCode }[];
}

type Event = ReturnType<typeof freshExample>;
type Row = Record<string, unknown>;

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field
  body: any;
  allow: string | null;
  /** The `svix-id` the delivery was signed with. */
  id: string;
}

interface SendOptions {
  id?: string;
  /** `svix-timestamp`, epoch seconds. */
  timestamp?: number;
  secret?: string;
  /** Bytes to send instead of the signed body (the signature stays the payload's). */
  body?: string;
  /** Header overrides; `null` removes one. */
  headers?: Record<string, string | null>;
  method?: string;
  /** Send the body chunked, without a content-length. */
  chunked?: boolean;
}

const LIMIT = 16 * 1024;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** One mounted adapter, its secret and its SQLite file. */
class Endpoint {
  constructor(
    readonly url: string,
    readonly dbFile: string,
    readonly secret: string,
  ) {}

  async send(payload: string | object, options: SendOptions = {}): Promise<Reply> {
    const signed = signDelivery({
      secret: options.secret ?? this.secret,
      payload,
      ...(options.id !== undefined ? { id: options.id } : {}),
      ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
    });
    const headers: Record<string, string> = { ...signed.headers };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value === null) delete headers[name];
      else headers[name] = value;
    }
    const method = options.method ?? "POST";
    const body = method === "GET" || method === "HEAD" ? undefined : (options.body ?? String(signed.body));
    if (options.chunked) return { ...(await postChunked(this.url, headers, body ?? "")), id: signed.id };
    const response = await fetch(this.url, { method, headers, body });
    const text = await response.text();
    return { status: response.status, body: parse(text), allow: response.headers.get("allow"), id: signed.id };
  }

  /** Rows of a query on a read-only connection to the file (none while the file does not exist). */
  rows(query: string, ...params: unknown[]): Row[] {
    if (!existsSync(this.dbFile)) return [];
    const db = new Database(this.dbFile, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(query).all(...params) as Row[];
    } finally {
      db.close();
    }
  }

  user(id: unknown): Row | undefined {
    return this.rows("SELECT * FROM clerk_users WHERE id = ?", id)[0];
  }

  delivery(svixId: string): Row | undefined {
    return this.rows("SELECT * FROM clerk_webhook_events WHERE svix_id = ?", svixId)[0];
  }

  /** Rows in the tables a delivery writes to. */
  counts(): { users: number; deliveries: number } {
    const n = (table: string) => Number(this.rows(`SELECT count(*) AS n FROM ${table}`)[0]?.n ?? 0);
    return { users: n("clerk_users"), deliveries: n("clerk_webhook_events") };
  }
}

function postChunked(url: string, headers: Record<string, string>, body: string): Promise<Omit<Reply, "id">> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { ...headers, connection: "close" }, agent: false });
    req.once("error", reject);
    req.once("response", (res) => {
      readText(res).then(
        (text) => resolve({ status: res.statusCode ?? 0, body: parse(text), allow: res.headers.allow ?? null }),
        reject,
      );
    });
    const bytes = Buffer.from(body);
    req.write(bytes.subarray(0, 1000));
    req.end(bytes.subarray(1000));
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** JSON allows trailing whitespace: the event padded to exactly `size` bytes. */
function padded(event: Event, size: number): string {
  const text = JSON.stringify(event);
  expect(Buffer.byteLength(text)).toBeLessThan(size);
  return text + " ".repeat(size - Buffer.byteLength(text));
}

function expectRefused(reply: Reply, code: ErrorCode): void {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status: ERROR_STATUS[code], code });
}

type AppTables = { welcome_emails: { user_id: string } };

/**
 * The adapter contract: a signed delivery is applied and checked with SQL; duplicates have one
 * effect; bad signatures, oversize bodies and other methods are refused with their codes and
 * write nothing; store failures are 503 `store_unavailable` and a throwing hook is 500
 * `hook_failed`, both rolled back so that Svix's retry applies the delivery later.
 */
export function describeAdapterConformance(target: AdapterTarget): void {
  describe(`adapter conformance: ${target.name}`, () => {
    const tempDir = useTempDirs(`adapter-${target.name}`);
    const secret = generateSecret();
    const cleanups: (() => Promise<void>)[] = [];
    let main: Endpoint;

    /** Mounts `receiver` (closed after the tests when it is a ClerkSync) on a new server. */
    async function start(receiver: ClerkSyncOptions | ClerkSync, dbFile: string, mount = target.mount) {
      if ("close" in receiver && typeof receiver.close === "function") cleanups.push(() => receiver.close());
      const served = await mount(receiver);
      cleanups.push(() => served.close());
      return new Endpoint(`${served.url}${WEBHOOK_PATH}`, dbFile, secret);
    }

    /** A receiver configured the way apps do: the secret and DATABASE_URL from the environment. */
    function fromEnv(dbFile: string, options: ClerkSyncOptions = {}): ClerkSync {
      return createClerkSync({
        ...options,
        env: { CLERK_WEBHOOK_SIGNING_SECRET: secret, DATABASE_URL: `file:${dbFile}` },
      });
    }

    beforeAll(async () => {
      const dbFile = join(tempDir(), "app.db");
      main = await start(fromEnv(dbFile, { maxBodyBytes: LIMIT }), dbFile);
    });
    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it("applies a signed delivery: 200, the user row and the delivery with its raw body, byte for byte", async () => {
      const event = freshExample("user.created");
      event.data.first_name = "Zoë";
      // Escapes and indentation a re-serialized body would not reproduce: only the raw bytes verify.
      const body = JSON.stringify(event, null, 2).replace('"Zoë"', '"Zo\\u00eb"');
      const reply = await main.send(body);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        status: "applied",
        type: "user.created",
        svix_id: reply.id,
        object_id: event.data.id,
      });
      const [email] = event.data.email_addresses as { email_address: string }[];
      expect(main.user(event.data.id)).toMatchObject({
        id: event.data.id,
        first_name: "Zoë",
        last_name: event.data.last_name,
        primary_email_address: email?.email_address,
        updated_at: event.data.updated_at,
        deleted_at: null,
      });
      expect(main.delivery(reply.id)).toMatchObject({
        type: "user.created",
        object_id: event.data.id,
        status: "applied",
        delivery_count: 1,
        payload: body,
      });
    });

    it("a svix-id delivered again, later and concurrently, has one effect", async () => {
      const event = freshExample("user.created");
      const first = await main.send(event);
      expect(first.body.status).toBe("applied");
      const row = main.user(event.data.id);

      const retry = await main.send(event, { id: first.id, timestamp: nowSeconds() + 1 });
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ status: "duplicate", svix_id: first.id });

      const other = freshExample("user.created");
      const burst = await Promise.all([1, 2, 3, 4].map(() => main.send(other, { id: `${first.id}_burst` })));
      expect(burst.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(burst.map((r) => r.body.status).sort()).toEqual(["applied", "duplicate", "duplicate", "duplicate"]);

      expect(main.user(event.data.id)).toEqual(row);
      expect(main.rows("SELECT id FROM clerk_users WHERE id IN (?, ?)", event.data.id, other.data.id)).toHaveLength(2);
      expect(main.delivery(first.id)).toMatchObject({ delivery_count: 2, status: "applied" });
      expect(main.delivery(`${first.id}_burst`)).toMatchObject({ delivery_count: 4, status: "applied" });
    });

    const rejected: { name: string; code: ErrorCode; options: (body: string) => SendOptions }[] = [
      { name: "signed with another secret", code: "invalid_signature", options: () => ({ secret: generateSecret() }) },
      { name: "a body changed after signing", code: "invalid_signature", options: (b) => ({ body: `${b} ` }) },
      {
        name: "no svix-signature header",
        code: "missing_headers",
        options: () => ({ headers: { "svix-signature": null } }),
      },
      { name: "signed an hour ago", code: "timestamp_too_old", options: () => ({ timestamp: nowSeconds() - 3600 }) },
    ];
    it.for(rejected)("a delivery $name is refused with $code and writes nothing", async ({ code, options }) => {
      const event = freshExample("user.created");
      const before = main.counts();
      const reply = await main.send(event, options(JSON.stringify(event)));
      expectRefused(reply, code);
      expect(main.counts()).toEqual(before);
      expect(main.user(event.data.id)).toBeUndefined();
    });

    it("a body over maxBodyBytes is 413 payload_too_large (with or without content-length); one at the limit is applied", async () => {
      const atLimit = freshExample("user.created");
      const ok = await main.send(padded(atLimit, LIMIT));
      expect(ok.body.status).toBe("applied");
      const before = main.counts();
      const over = freshExample("user.created");
      expectRefused(await main.send(padded(over, LIMIT + 1)), "payload_too_large");
      expectRefused(await main.send(padded(over, LIMIT + 1), { chunked: true }), "payload_too_large");
      expect(main.counts()).toEqual(before);
      expect(main.user(over.data.id)).toBeUndefined();
    });

    it.for(["GET", "PUT", "DELETE"])("%s is 405 method_not_allowed, allow: POST", async (method) => {
      const before = main.counts();
      const reply = await main.send(freshExample("user.created"), { method });
      expectRefused(reply, "method_not_allowed");
      expect(reply.allow).toBe("POST");
      expect(main.counts()).toEqual(before);
    });

    it("a database that cannot be opened is 503 store_unavailable; once it can, the retry is applied", async () => {
      const dir = join(tempDir(), "not-yet");
      const dbFile = join(dir, "app.db");
      const endpoint = await start(
        createClerkSync({ secrets: secret, databaseUrl: `file:${dbFile}`, env: {} }),
        dbFile,
      );
      const event = freshExample("user.created");
      const reply = await endpoint.send(event);
      expectRefused(reply, "store_unavailable");
      expect(existsSync(dbFile)).toBe(false);
      mkdirSync(dir);
      const retry = await endpoint.send(event, { id: reply.id });
      expect(retry.body.status).toBe("applied");
      expect(endpoint.user(event.data.id)).toBeDefined();
    });

    it("a database that fails under the receiver is 503 store_unavailable and the delivery is not written", async () => {
      const dbFile = join(tempDir(), "app.db");
      const store = openSqliteStore({ filename: dbFile });
      // Options (not a receiver) this time: the adapter makes the receiver around this store.
      const endpoint = await start({ secrets: secret, store, env: {} }, dbFile);
      const first = freshExample("user.created");
      expect((await endpoint.send(first)).body.status).toBe("applied");
      await store.close();
      const second = freshExample("user.created");
      const reply = await endpoint.send(second);
      expectRefused(reply, "store_unavailable");
      expect(endpoint.user(second.data.id)).toBeUndefined();
      expect(endpoint.delivery(reply.id)).toBeUndefined();
      expect(endpoint.counts()).toEqual({ users: 1, deliveries: 1 });
    });

    it("a throwing hook is 500 hook_failed and rolled back; Svix's retry applies it once", async () => {
      const dbFile = join(tempDir(), "app.db");
      let failing = true;
      const sync = fromEnv(dbFile).on("user.created", async (event, { db }) => {
        await db.withTables<AppTables>().insertInto("welcome_emails").values({ user_id: event.data.id }).execute();
        if (failing) throw new Error("mail server down");
      });
      await sql`create table welcome_emails (user_id text primary key)`.execute((await sync.store()).db);
      const endpoint = await start(sync, dbFile);
      const event = freshExample("user.created");
      const reply = await endpoint.send(event);
      expectRefused(reply, "hook_failed");
      expect(endpoint.user(event.data.id)).toBeUndefined();
      expect(endpoint.rows("SELECT * FROM welcome_emails")).toEqual([]);
      expect(endpoint.delivery(reply.id)).toMatchObject({ status: "failed", error_code: "hook_failed" });

      failing = false;
      const retry = await endpoint.send(event, { id: reply.id, timestamp: nowSeconds() + 1 });
      expect(retry.body.status).toBe("applied");
      expect(endpoint.user(event.data.id)).toBeDefined();
      expect(endpoint.rows("SELECT * FROM welcome_emails")).toEqual([{ user_id: event.data.id }]);
      expect(endpoint.delivery(reply.id)).toMatchObject({ status: "applied", delivery_count: 2 });
    });

    for (const variant of target.variants ?? []) {
      const outcome = variant.refuses ? `refuses with ${variant.refuses}, writes nothing` : "applies";
      it(`mounted ${variant.name}: a signed delivery ${outcome}`, async () => {
        const dbFile = join(tempDir(), "app.db");
        const endpoint = await start(fromEnv(dbFile), dbFile, variant.mount);
        const event = freshExample("user.created");
        const reply = await endpoint.send(event);
        if (variant.refuses) {
          expectRefused(reply, variant.refuses);
          expect(endpoint.counts()).toEqual({ users: 0, deliveries: 0 });
        } else {
          expect(reply.body).toMatchObject({ status: "applied", object_id: event.data.id });
          expect(endpoint.user(event.data.id)).toMatchObject({ id: event.data.id });
        }
      });
    }
  });
}
