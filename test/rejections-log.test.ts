/**
 * The rejections log over real HTTP: a receiver (createClerkSync behind node:http) refuses one
 * request of each rejection code; each is logged with its code, status, the unverified id, the
 * source address and header names, never a secret nor the body; the log stays within its rows.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toNodeListener } from "../src/adapters/node.js";
import { createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { listRejections } from "../src/store/delivery-log.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { signDelivery } from "../src/testing/sign.js";
import { userData, userEvent } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const tempDir = useTempDirs("rejections");

describe("rejections log", () => {
  let server: Server;
  let url: string;
  let sync: ReturnType<typeof createClerkSync>;
  let file: string;

  beforeAll(async () => {
    file = join(tempDir(), "app.db");
    sync = createClerkSync({
      secrets: SECRET,
      databaseUrl: `file:${file}`,
      maxBodyBytes: 2048,
      rejectionsMaxRows: 8,
      env: {},
      logger: { debug() {}, info() {}, warn() {}, error() {} },
    });
    server = createServer(toNodeListener(sync));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await sync.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const valid = (overrides: { timestamp?: number; body?: string; id?: string } = {}) =>
    signDelivery({
      secret: SECRET,
      payload: overrides.body ?? userEvent("user.created", userData("user_1", 1)),
      timestamp: overrides.timestamp ?? now(),
      ...(overrides.id ? { id: overrides.id } : {}),
    });
  const post = (headers: Record<string, string>, body: string | Uint8Array, method = "POST") =>
    fetch(url, { method, headers, ...(method === "POST" ? { body: Buffer.from(body) } : {}) }).then((r) => r.status);

  it("logs every rejection code with names only, and stays within its bounds", async () => {
    const ok = valid();
    const cases: [string, () => Promise<number>][] = [
      ["missing_headers", () => post({ "content-type": "application/json" }, String(ok.body))],
      ["invalid_timestamp", () => post({ ...ok.headers, "svix-timestamp": "soon" }, ok.body)],
      [
        "timestamp_too_old",
        () => post(valid({ timestamp: now() - 3600 }).headers, String(valid({ timestamp: now() - 3600 }).body)),
      ],
      [
        "timestamp_too_new",
        () => post(valid({ timestamp: now() + 3600 }).headers, String(valid({ timestamp: now() + 3600 }).body)),
      ],
      ["invalid_signature", () => post({ ...ok.headers, "svix-signature": "v1,c2VjcmV0LWxvb2tpbmc=" }, ok.body)],
      [
        "invalid_payload",
        () => {
          const d = valid({ body: "{not json" });
          return post(d.headers, d.body);
        },
      ],
      ["payload_too_large", () => post(ok.headers, "x".repeat(4096))],
      ["method_not_allowed", () => post(ok.headers, "", "GET")],
    ];
    const statuses: Record<string, number> = {};
    for (const [code, send] of cases) statuses[code] = await send();
    expect(statuses).toEqual({
      missing_headers: 400,
      invalid_timestamp: 400,
      timestamp_too_old: 401,
      timestamp_too_new: 401,
      invalid_signature: 401,
      invalid_payload: 400,
      payload_too_large: 413,
      method_not_allowed: 405,
    });
    await sync.close(); // writes what the log queued
    const store = openSqliteStore({ filename: file });
    try {
      const { items } = await listRejections(store, {}, { limit: 100 });
      expect(items.map((r) => r.code).sort()).toEqual(Object.keys(statuses).sort());
      for (const r of items) {
        expect(r.httpStatus).toBe(statuses[r.code]);
        expect(r.sourceAddress).toBe("127.0.0.1");
        if (r.code !== "missing_headers") expect(r.svixId).toMatch(/^msg_/);
      }
      const signature = items.find((r) => r.code === "invalid_signature");
      expect(signature?.svixId).toBe(ok.id);
      expect(signature?.headerNames).toEqual(expect.arrayContaining(["svix-id", "svix-signature", "svix-timestamp"]));
      expect(signature?.bodyBytes).toBe(Buffer.byteLength(String(ok.body)));
      const text = JSON.stringify(items);
      expect(text).not.toContain("c2VjcmV0LWxvb2tpbmc");
      expect(text).not.toContain("user_1");

      // Bounded: rejectionsMaxRows 8, then 12 more refusals from a second receiver on the same file.
      const second = createClerkSync({
        secrets: SECRET,
        databaseUrl: `file:${file}`,
        rejectionsMaxRows: 8,
        env: {},
        logger: { debug() {}, info() {}, warn() {}, error() {} },
      });
      for (let i = 0; i < 12; i++) await second.handle({ method: "POST", headers: {}, body: new Uint8Array(i) });
      await second.close();
      const after = await listRejections(store, {}, { limit: 100 });
      expect(after.items).toHaveLength(8);
      expect(after.items.every((r) => r.code === "missing_headers")).toBe(true);
    } finally {
      await store.close();
    }
  });
});
