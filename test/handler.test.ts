import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { createWebhookHandler, type WebhookHandler } from "../src/core/handler.js";
import { createVerifier } from "../src/core/verify.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { signDelivery } from "../src/testing/sign.js";
import { userData, userEvent } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("handler");

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const url = "http://localhost/api/webhooks";

function request(payload: string | object, init: { headers?: Record<string, string>; method?: string } = {}): Request {
  const signed = signDelivery({ secret, payload: typeof payload === "string" ? payload : JSON.stringify(payload) });
  return new Request(url, {
    method: init.method ?? "POST",
    headers: { ...signed.headers, ...init.headers },
    body: init.method === "GET" ? null : (signed.body as string),
  });
}

async function count(store: ClerkSyncStore): Promise<number> {
  const row = await store.db
    .selectFrom("clerk_webhook_events")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe("core handler (Request → Response)", () => {
  let store: ClerkSyncStore;
  let handler: WebhookHandler;

  beforeEach(async () => {
    store = openSqliteStore({ filename: join(tempDir(), "h.db") });
    await store.migrate();
    handler = createWebhookHandler({
      verify: createVerifier({ secrets: secret }),
      engine: new SyncEngine(store),
      maxBodyBytes: 64 * 1024,
    });
  });
  afterEach(async () => {
    await store.close();
  });

  it("applies a signed delivery, then answers duplicate for the same svix-id", async () => {
    const body = JSON.stringify(userEvent("user.created", userData("user_1", 1000)));
    const signed = signDelivery({ secret, payload: body });
    const send = () => handler.fetch(new Request(url, { method: "POST", headers: signed.headers, body }));
    const first = await send();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ status: "applied", type: "user.created", object_id: "user_1" });
    const second = await send();
    expect(await second.json()).toMatchObject({ status: "duplicate" });
    expect(await count(store)).toBe(1);
  });

  it("acknowledges unknown event types as ignored and records them", async () => {
    const response = await handler.fetch(
      request({ object: "event", type: "future.thing", timestamp: 1, data: { id: "x_1" } }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ignored", type: "future.thing" });
    expect(await count(store)).toBe(1);
  });

  it.each([
    ["GET", () => request("{}", { method: "GET" }), 405, "method_not_allowed"],
    ["bad signature", () => request("{}", { headers: { "svix-signature": "v1,AAAA" } }), 401, "invalid_signature"],
    ["not JSON", () => request("not json"), 400, "invalid_payload"],
    ["not an event", () => request({ hello: "world" }), 400, "invalid_payload"],
    [
      "a stored field of the wrong type",
      () => request(userEvent("user.created", userData("user_1", 1000, { first_name: 42 as unknown as string }))),
      400,
      "invalid_event",
    ],
    ["over the body limit", () => request("x".repeat(64 * 1024 + 1)), 413, "payload_too_large"],
  ])("refuses %s with a coded error and writes nothing", async (_name, make, status, code) => {
    const response = await handler.fetch(make());
    expect(response.status).toBe(status);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(code);
    expect(await count(store)).toBe(0);
  });

  it("refuses a streamed body over the limit without a content-length", async () => {
    const signed = signDelivery({ secret, payload: "x".repeat(100_000) });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new Uint8Array(10_000).fill(120));
        controller.close();
      },
    });
    const response = await handler.fetch(
      new Request(url, { method: "POST", headers: signed.headers, body: stream, duplex: "half" } as RequestInit),
    );
    expect(response.status).toBe(413);
  });

  it("answers 503 store_unavailable when the database fails, so Svix retries", async () => {
    await store.close();
    const response = await handler.fetch(request(userEvent("user.created", userData("user_1", 1000))));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("store_unavailable");
  });
});
