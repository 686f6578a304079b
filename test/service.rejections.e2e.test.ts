/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process, real HTTP,
 * a real SQLite file read back with SQL. Assertions are on status codes, error codes and reply
 * statuses, never on message text.
 *
 * This file: deliveries the service refuses (signature, timestamp, headers, payload, size,
 * method, path), each with its coded status and nothing written.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateSecret } from "../src/server/env-files.js";
import { signDelivery } from "../src/testing/sign.js";
import { type Event, expectNoSecretInStdout, nowSeconds, userEvent } from "./helpers/service-events.js";
import { type ServiceProcess, startServiceProcess } from "./helpers/service-process.js";

describe.concurrent("clerk-sync serve (real process, real HTTP, real SQLite file)", () => {
  describe.concurrent("rejected deliveries: the coded status, and nothing written", () => {
    let svc: ServiceProcess;
    let baseline: { events: number; users: number; emails: number };
    beforeAll(async () => {
      svc = await startServiceProcess();
      // One applied delivery, so that "unchanged" is checked against non-empty tables.
      const seeded = await svc.post(userEvent("user.created"));
      expect(seeded.body.status).toBe("applied");
      baseline = svc.counts();
      expect(baseline).toEqual({ events: 1, users: 1, emails: 1 });
    });
    afterAll(async () => {
      if (!svc) return;
      expect(svc.counts()).toEqual(baseline);
      expect((await svc.stop()).code).toBe(0);
      expectNoSecretInStdout(svc);
    });

    interface Case {
      name: string;
      status: number;
      code: string;
      send: (svc: ServiceProcess, event: Event) => Promise<{ status: number; body: { error?: { code?: string } } }>;
    }
    const body = (event: Event) => JSON.stringify(event);
    const cases: Case[] = [
      {
        name: "signed with another secret",
        status: 401,
        code: "invalid_signature",
        send: (s, e) => s.post(e, { secret: generateSecret() }),
      },
      {
        name: "body changed after signing",
        status: 401,
        code: "invalid_signature",
        send: (s, e) => s.post(e, { body: body({ ...e, data: { ...e.data, first_name: "Mallory" } }) }),
      },
      {
        name: "body re-serialised with other spacing",
        status: 401,
        code: "invalid_signature",
        send: (s, e) => s.post(e, { body: JSON.stringify(e, null, 2) }),
      },
      {
        name: "svix-id other than the signed one",
        status: 401,
        code: "invalid_signature",
        send: (s, e) => s.post(e, { headers: { "svix-id": "msg_other" } }),
      },
      {
        name: "signature of an unknown version only",
        status: 401,
        code: "invalid_signature",
        send: (s, e) => {
          // The right signature, under a scheme version the verifier does not accept.
          const signed = signDelivery({ secret: s.secret, payload: e });
          const v2 = String(signed.headers["svix-signature"]).replace(/^v1,/, "v2,");
          return s.post(e, { id: signed.id, timestamp: signed.timestamp, headers: { "svix-signature": v2 } });
        },
      },
      {
        name: "timestamp 10 minutes old",
        status: 401,
        code: "timestamp_too_old",
        send: (s, e) => s.post(e, { timestamp: nowSeconds() - 600 }),
      },
      {
        name: "timestamp 10 minutes in the future",
        status: 401,
        code: "timestamp_too_new",
        send: (s, e) => s.post(e, { timestamp: nowSeconds() + 600 }),
      },
      {
        name: "timestamp not a number",
        status: 400,
        code: "invalid_timestamp",
        send: (s, e) => s.post(e, { headers: { "svix-timestamp": "yesterday" } }),
      },
      {
        name: "svix-id missing",
        status: 400,
        code: "missing_headers",
        send: (s, e) => s.post(e, { headers: { "svix-id": null } }),
      },
      {
        name: "svix-timestamp missing",
        status: 400,
        code: "missing_headers",
        send: (s, e) => s.post(e, { headers: { "svix-timestamp": null } }),
      },
      {
        name: "svix-signature missing",
        status: 400,
        code: "missing_headers",
        send: (s, e) => s.post(e, { headers: { "svix-signature": null } }),
      },
      {
        name: "no signature headers at all",
        status: 400,
        code: "missing_headers",
        send: (s, e) => s.post(e, { headers: { "svix-id": null, "svix-timestamp": null, "svix-signature": null } }),
      },
      {
        name: "a signed body that is not JSON",
        status: 400,
        code: "invalid_payload",
        send: (s, e) => s.post(`${body(e).slice(0, -1)},,`),
      },
      {
        name: "a signed body that is not UTF-8",
        status: 400,
        code: "invalid_payload",
        send: (s) => s.post(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
      },
      {
        name: "valid JSON: an array",
        status: 400,
        code: "invalid_payload",
        send: (s) => s.post("[1,2,3]"),
      },
      {
        name: "valid JSON: null",
        status: 400,
        code: "invalid_payload",
        send: (s) => s.post("null"),
      },
      {
        name: "valid JSON: an object that is no event",
        status: 400,
        code: "invalid_payload",
        send: (s) => s.post({ hello: "world" }),
      },
      {
        name: "valid JSON: an event without data",
        status: 400,
        code: "invalid_payload",
        send: (s, e) => s.post({ object: "event", type: "user.created", timestamp: e.timestamp }),
      },
      {
        name: "valid JSON: an event without timestamp",
        status: 400,
        code: "invalid_payload",
        send: (s, e) => s.post({ object: "event", type: "user.created", data: e.data }),
      },
      {
        name: "a user.created without updated_at",
        status: 400,
        code: "invalid_event",
        send: (s, e) => {
          const { updated_at: _, ...data } = e.data;
          return s.post({ ...e, data });
        },
      },
      {
        name: "a user.created whose first_name is a number",
        status: 400,
        code: "invalid_event",
        send: (s, e) => s.post({ ...e, data: { ...e.data, first_name: 42 } }),
      },
      {
        name: "a user.created whose email entry has no id",
        status: 400,
        code: "invalid_event",
        send: (s, e) => s.post({ ...e, data: { ...e.data, email_addresses: [{ email_address: "a@example.com" }] } }),
      },
      {
        name: "a body over the default 1 MiB (content-length)",
        status: 413,
        code: "payload_too_large",
        send: (s, e) => s.post({ ...e, data: { ...e.data, unsafe_metadata: { pad: "x".repeat(1024 * 1024) } } }),
      },
      {
        name: "a body over the default 1 MiB (chunked, no content-length)",
        status: 413,
        code: "payload_too_large",
        send: async (s, e) => {
          const open = s.openPost(
            { ...e, data: { ...e.data, unsafe_metadata: { pad: "y".repeat(1100 * 1024) } } },
            {
              chunked: true,
            },
          );
          for (let offset = 0; offset < open.bytes.byteLength; offset += 64 * 1024) {
            await open.write(open.bytes.subarray(offset, offset + 64 * 1024));
          }
          open.end();
          return open.reply;
        },
      },
      {
        name: "GET on the webhook endpoint",
        status: 405,
        code: "method_not_allowed",
        send: (s, e) => s.post(e, { method: "GET" }),
      },
      {
        name: "PUT on the webhook endpoint",
        status: 405,
        code: "method_not_allowed",
        send: (s, e) => s.post(e, { method: "PUT" }),
      },
      {
        name: "a valid delivery POSTed to another path",
        status: 404,
        code: "not_found",
        send: (s, e) => s.post(e, { path: "/api/webhook" }),
      },
    ];

    test.for(cases)("$name → $status $code", async ({ status, code, send }) => {
      const event = userEvent("user.created");
      const before = svc.counts();
      const reply = await send(svc, event);
      expect(reply.status).toBe(status);
      expect(reply.body.error?.code).toBe(code);
      expect(svc.counts()).toEqual(before);
      expect(svc.user(String(event.data.id))).toBeUndefined();
      expect(svc.get("SELECT 1 FROM clerk_webhook_events WHERE object_id = ?", event.data.id)).toBeUndefined();
    });

    test("405 names the allowed method", async () => {
      const reply = await svc.post(userEvent("user.created"), { method: "GET" });
      expect(reply.status).toBe(405);
      expect(reply.headers.get("allow")).toBe("POST");
    });
  });
});
