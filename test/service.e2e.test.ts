/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process, real HTTP,
 * a real SQLite file read back with SQL. Assertions are on status codes, error codes and reply
 * statuses, never on message text.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateSecret } from "../src/server/env-files.js";
import { freshExample, newClerkId } from "../src/testing/fixtures.js";
import { signDelivery } from "../src/testing/sign.js";
import { makeTempDir, runCli, type ServiceProcess, startServiceProcess } from "./helpers/service-process.js";

type Event = ReturnType<typeof freshExample>;
type Row = Record<string, unknown>;

interface EmailJson {
  id: string;
  email_address: string;
  verification: { status: string; [key: string]: unknown } | null;
  [key: string]: unknown;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function userEvent(type: "user.created" | "user.updated", options: { id?: string; now?: number } = {}): Event {
  return freshExample(type, options);
}

function emailsOf(event: Event): EmailJson[] {
  return event.data.email_addresses as EmailJson[];
}

/** A user.updated for an existing user: same id, same email ids, a new `updated_at`. */
function updateOf(created: Event, updatedAt: number, changes: Row = {}): Event {
  const event = userEvent("user.updated", { id: String(created.data.id), now: updatedAt });
  event.data = { ...structuredClone(created.data), ...changes, updated_at: updatedAt };
  return event;
}

/** A user.deleted stub for `id`, its envelope timestamp (the tombstone's version) at `at` ms. */
function deletionOf(id: string, at: number): Event {
  return freshExample("user.deleted", { id, now: at });
}

/** The service's stdout (every run) shows neither the secret nor its key part. */
function expectNoSecretInStdout(svc: ServiceProcess, secret = svc.secret): void {
  expect(svc.allStdout).not.toContain(secret);
  expect(svc.allStdout).not.toContain(secret.replace(/^whsec_/, ""));
}

function expectUserRowMatches(row: Row | undefined, event: Event, primaryEmail: string | null): void {
  const data = event.data;
  expect(row).toBeDefined();
  expect(row).toMatchObject({
    id: data.id,
    version: data.updated_at,
    deleted_at: null,
    external_id: data.external_id ?? null,
    username: data.username ?? null,
    first_name: data.first_name,
    last_name: data.last_name,
    image_url: data.image_url,
    primary_email_address: primaryEmail,
    primary_phone_number: null,
    banned: data.banned ? 1 : 0,
    locked: data.locked ? 1 : 0,
    last_sign_in_at: data.last_sign_in_at,
    last_active_at: data.last_active_at,
    created_at: data.created_at,
    updated_at: data.updated_at,
  });
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.parse(String(value)));
  expect(json(row?.public_metadata)).toEqual(data.public_metadata ?? null);
  expect(json(row?.private_metadata)).toEqual(data.private_metadata ?? null);
  expect(json(row?.unsafe_metadata)).toEqual(data.unsafe_metadata ?? null);
  expect(json(row?.data)).toEqual(data);
}

describe.concurrent("clerk-sync serve (real process, real HTTP, real SQLite file)", () => {
  describe.concurrent("sync semantics (soft delete mode)", () => {
    let svc: ServiceProcess;
    beforeAll(async () => {
      svc = await startServiceProcess({ env: { LOG_LEVEL: "debug" } });
    });
    afterAll(async () => {
      if (!svc) return;
      const exit = await svc.stop();
      expect(exit.code).toBe(0);
      expectNoSecretInStdout(svc);
    });

    test("user.created is applied: row columns, primary email by id (not the first entry), email rows, delivery", async () => {
      const now = Date.now();
      const event = userEvent("user.created", { now });
      const [primary] = emailsOf(event);
      const secondary: EmailJson = {
        object: "email_address",
        id: newClerkId("idn"),
        email_address: `first-but-not-primary.${String(event.data.id).slice(-6).toLowerCase()}@example.com`,
        verification: { status: "unverified", strategy: "email_code" },
        linked_to: [],
      };
      // The primary address is the second entry: primary_email_address must follow the id.
      event.data.email_addresses = [secondary, primary];
      event.data.username = "ann_e2e";
      event.data.public_metadata = { plan: "pro", nested: { a: [1, 2] } };
      event.data.private_metadata = { internal: true };
      const body = JSON.stringify(event);

      const reply = await svc.post(body);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        status: "applied",
        type: "user.created",
        svix_id: reply.id,
        object_id: event.data.id,
      });

      expectUserRowMatches(svc.user(String(event.data.id)), event, primary?.email_address ?? "missing");
      expect(svc.user(String(event.data.id))?.primary_email_address).not.toBe(secondary.email_address);

      const emails = svc.emails(String(event.data.id));
      expect(emails).toHaveLength(2);
      expect(emails).toEqual(
        expect.arrayContaining([
          {
            id: primary?.id,
            user_id: event.data.id,
            email_address: primary?.email_address,
            verification_status: "verified",
            is_primary: 1,
          },
          {
            id: secondary.id,
            user_id: event.data.id,
            email_address: secondary.email_address,
            verification_status: "unverified",
            is_primary: 0,
          },
        ]),
      );

      expect(svc.event(reply.id)).toMatchObject({
        svix_id: reply.id,
        type: "user.created",
        object_type: "user",
        object_id: event.data.id,
        event_timestamp: now,
        delivery_count: 1,
        status: "applied",
        last_outcome: "applied",
        error_code: null,
        error_message: null,
        // The raw body, byte for byte.
        payload: body,
      });
    });

    test("user.created with the primary email as the only/first entry", async () => {
      const event = userEvent("user.created");
      const reply = await svc.post(event);
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe("applied");
      const [only] = emailsOf(event);
      expectUserRowMatches(svc.user(String(event.data.id)), event, only?.email_address ?? "missing");
      expect(svc.emails(String(event.data.id))).toMatchObject([{ id: only?.id, is_primary: 1 }]);
    });

    test("a duplicate svix-id has one effect: reply duplicate, delivery_count counts, row unchanged", async () => {
      const t = Date.now();
      const event = userEvent("user.created", { now: t });
      const userId = String(event.data.id);
      const first = await svc.post(event);
      expect(first.status).toBe(200);
      expect(first.body.status).toBe("applied");
      const rowBefore = svc.user(userId);
      const emailsBefore = svc.emails(userId);

      // Svix's retry: same id, same body, signed again at a later attempt time.
      const retry = await svc.post(event, { id: first.id, timestamp: nowSeconds() + 1 });
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ status: "duplicate", svix_id: first.id, object_id: userId });
      expect(svc.user(userId)).toEqual(rowBefore);
      expect(svc.emails(userId)).toEqual(emailsBefore);
      expect(svc.event(first.id)).toMatchObject({
        delivery_count: 2,
        status: "applied",
        last_outcome: "duplicate",
      });

      // The delivery id is the key: even a different (newer) body under the same id has no effect.
      const changed = updateOf(event, t + 5_000, { first_name: "Changed" });
      const again = await svc.post(changed, { id: first.id });
      expect(again.status).toBe(200);
      expect(again.body.status).toBe("duplicate");
      expect(svc.user(userId)).toEqual(rowBefore);
      expect(svc.event(first.id)).toMatchObject({
        delivery_count: 3,
        status: "applied",
        payload: JSON.stringify(event),
      });
      expect(svc.get("SELECT count(*) AS n FROM clerk_webhook_events WHERE object_id = ?", userId)).toEqual({ n: 1 });
    });

    test("an update older than the stored row is stale: row unchanged, delivery recorded stale", async () => {
      const t = Date.now();
      const created = userEvent("user.created", { now: t });
      const userId = String(created.data.id);
      expect((await svc.post(created)).body.status).toBe("applied");

      const newer = updateOf(created, t + 2_000, { first_name: "Newer" });
      const applied = await svc.post(newer);
      expect(applied.status).toBe(200);
      expect(applied.body.status).toBe("applied");
      expect(svc.user(userId)).toMatchObject({ first_name: "Newer", version: t + 2_000, updated_at: t + 2_000 });
      const rowBefore = svc.user(userId);
      const emailsBefore = svc.emails(userId);

      // Arrives late: older than what is stored.
      const older = updateOf(created, t + 1_000, { first_name: "Older", last_name: "Late" });
      const stale = await svc.post(older);
      expect(stale.status).toBe(200);
      expect(stale.body).toEqual({ status: "stale", type: "user.updated", svix_id: stale.id, object_id: userId });
      expect(svc.user(userId)).toEqual(rowBefore);
      expect(svc.emails(userId)).toEqual(emailsBefore);
      expect(svc.event(stale.id)).toMatchObject({
        status: "stale",
        last_outcome: "stale",
        delivery_count: 1,
        type: "user.updated",
        object_id: userId,
      });

      // An older user.created replayed after the update is stale too.
      const replayedCreate = await svc.post(created);
      expect(replayedCreate.body.status).toBe("stale");
      expect(svc.user(userId)).toEqual(rowBefore);
    });

    test("user.deleted sets deleted_at; a later user.updated does not bring the user back", async () => {
      const t = Date.now();
      const created = userEvent("user.created", { now: t });
      const userId = String(created.data.id);
      expect((await svc.post(created)).body.status).toBe("applied");

      const deleted = await svc.post(deletionOf(userId, t + 1_000));
      expect(deleted.status).toBe(200);
      expect(deleted.body).toEqual({ status: "applied", type: "user.deleted", svix_id: deleted.id, object_id: userId });
      // Soft mode: the row and its data stay, marked deleted.
      expect(svc.user(userId)).toMatchObject({ deleted_at: t + 1_000, first_name: created.data.first_name });
      expect(svc.event(deleted.id)).toMatchObject({ status: "applied", type: "user.deleted", object_id: userId });

      // A newer update after the deletion, and an older one: neither clears deleted_at.
      for (const at of [t + 2_000, t + 500]) {
        const late = await svc.post(updateOf(created, at, { first_name: `Late${at}` }));
        expect(late.status).toBe(200);
        expect(late.body.status).toBe("stale");
        expect(svc.event(late.id)).toMatchObject({ status: "stale" });
        expect(svc.user(userId)?.deleted_at).toBe(t + 1_000);
      }
      // A retried deletion is a duplicate; an older deletion does not move the tombstone back.
      expect((await svc.post(deletionOf(userId, t + 1_000), { id: deleted.id })).body.status).toBe("duplicate");
      expect((await svc.post(deletionOf(userId, t + 100))).body.status).toBe("stale");
      expect(svc.user(userId)?.deleted_at).toBe(t + 1_000);
    });

    test("an unknown event type is acknowledged as ignored and recorded", async () => {
      const objectId = newClerkId("wdg");
      const event = {
        object: "event",
        type: "widget.exploded",
        timestamp: Date.now(),
        instance_id: "ins_e2e",
        data: { object: "widget", id: objectId, color: "blue" },
      };
      const body = JSON.stringify(event);
      const reply = await svc.post(body);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({
        status: "ignored",
        type: "widget.exploded",
        svix_id: reply.id,
        object_id: objectId,
      });
      expect(svc.event(reply.id)).toMatchObject({
        type: "widget.exploded",
        object_type: "widget",
        object_id: objectId,
        status: "ignored",
        delivery_count: 1,
        payload: body,
      });
      expect(svc.user(objectId)).toBeUndefined();
      // Its retry is a duplicate like any other.
      expect((await svc.post(body, { id: reply.id })).body.status).toBe("duplicate");
    });

    test("GET /healthz and GET /readyz answer 200; an unknown path 404", async () => {
      const health = await svc.request("/healthz");
      expect(health.status).toBe(200);
      expect(health.body.status).toBe("ok");
      const ready = await svc.request("/readyz");
      expect(ready.status).toBe(200);
      expect(ready.body.status).toBe("ready");
      const missing = await svc.request("/nope");
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe("not_found");
    });
  });

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

  test("CLERK_SYNC_MAX_BODY_BYTES: a body of exactly the limit is applied, one byte more is 413 and not written", async () => {
    const limit = 4096;
    const svc = await startServiceProcess({ env: { CLERK_SYNC_MAX_BODY_BYTES: String(limit) } });
    // JSON allows trailing whitespace: pad each body to an exact size.
    const padded = (event: Event, size: number) => {
      const text = JSON.stringify(event);
      expect(Buffer.byteLength(text)).toBeLessThan(size);
      return text + " ".repeat(size - Buffer.byteLength(text));
    };
    const atLimit = userEvent("user.created");
    const ok = await svc.post(padded(atLimit, limit));
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe("applied");
    expect(svc.user(String(atLimit.data.id))).toBeDefined();
    const before = svc.counts();

    const over = userEvent("user.created");
    const tooLarge = await svc.post(padded(over, limit + 1));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe("payload_too_large");
    const chunked = svc.openPost(padded(over, limit + 1), { chunked: true });
    await chunked.write(chunked.bytes.subarray(0, 3000));
    chunked.end(chunked.bytes.subarray(3000));
    const chunkedReply = await chunked.reply;
    expect(chunkedReply.status).toBe(413);
    expect(chunkedReply.body.error.code).toBe("payload_too_large");

    expect(svc.counts()).toEqual(before);
    expect(svc.user(String(over.data.id))).toBeUndefined();
    expect((await svc.stop()).code).toBe(0);
    expectNoSecretInStdout(svc);
  });

  test("hard delete mode: data columns null, tombstone kept, email rows removed, no resurrection", async () => {
    const svc = await startServiceProcess({ env: { CLERK_SYNC_DELETE_MODE: "hard" } });
    const t = Date.now();
    const created = userEvent("user.created", { now: t });
    const userId = String(created.data.id);
    const [email] = emailsOf(created);
    expect((await svc.post(created)).body.status).toBe("applied");
    expect(svc.emails(userId)).toHaveLength(1);
    // Another user's address stays.
    const other = userEvent("user.created", { now: t });
    expect((await svc.post(other)).body.status).toBe("applied");

    const deleted = await svc.post(deletionOf(userId, t + 1_000));
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe("applied");
    const tombstone = svc.user(userId);
    expect(tombstone).toEqual({
      id: userId,
      version: t + 1_000,
      deleted_at: t + 1_000,
      external_id: null,
      username: null,
      first_name: null,
      last_name: null,
      image_url: null,
      primary_email_address: null,
      primary_phone_number: null,
      public_metadata: null,
      private_metadata: null,
      unsafe_metadata: null,
      banned: null,
      locked: null,
      last_sign_in_at: null,
      last_active_at: null,
      created_at: null,
      updated_at: null,
      data: null,
    });
    expect(svc.emails(userId)).toEqual([]);
    expect(svc.get("SELECT * FROM clerk_user_email_addresses WHERE email_address = ?", email?.email_address)).toBe(
      undefined,
    );
    expect(svc.emails(String(other.data.id))).toHaveLength(1);

    // Late deliveries, newer or older than the deletion, and a replay of the creation: all stale.
    for (const late of [updateOf(created, t + 2_000, { first_name: "Back" }), updateOf(created, t + 500), created]) {
      const reply = await svc.post(late);
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe("stale");
      expect(svc.event(reply.id)).toMatchObject({ status: "stale" });
    }
    expect(svc.user(userId)).toEqual(tombstone);
    expect(svc.emails(userId)).toEqual([]);
    expect((await svc.stop()).code).toBe(0);
    expectNoSecretInStdout(svc);
  });

  test("CLERK_SYNC_EVENTS=user.*: the user is mirrored, the organization recorded as ignored and not mirrored", async () => {
    const svc = await startServiceProcess({ env: { CLERK_SYNC_EVENTS: "user.*" } });
    const organization = freshExample("organization.created");
    const orgReply = await svc.post(organization);
    expect(orgReply.status).toBe(200);
    expect(orgReply.body.status).toBe("ignored");
    expect(svc.event(orgReply.id)).toMatchObject({ type: "organization.created", status: "ignored" });
    expect(svc.get("SELECT id FROM clerk_organizations WHERE id = ?", organization.data.id)).toBeUndefined();

    const user = userEvent("user.created");
    const userReply = await svc.post(user);
    expect(userReply.status).toBe(200);
    expect(userReply.body.status).toBe("applied");
    expect(svc.user(String(user.data.id))).toMatchObject({ id: user.data.id, deleted_at: null });
    expect((await svc.stop()).code).toBe(0);
  });

  test("--events wins over CLERK_SYNC_EVENTS", async () => {
    const svc = await startServiceProcess({
      env: { CLERK_SYNC_EVENTS: "user.*" },
      args: ["--events", "organization.*,session.created"],
    });
    const organization = freshExample("organization.created");
    expect((await svc.post(organization)).body.status).toBe("applied");
    expect(svc.get("SELECT id FROM clerk_organizations WHERE id = ?", organization.data.id)).toEqual({
      id: organization.data.id,
    });
    const user = userEvent("user.created");
    expect((await svc.post(user)).body.status).toBe("ignored");
    expect(svc.user(String(user.data.id))).toBeUndefined();
    expect((await svc.stop()).code).toBe(0);
  });

  test("a malformed CLERK_SYNC_EVENTS or --events stops the start with invalid_config, before the database is touched", async () => {
    for (const [env, args] of [
      [{ CLERK_SYNC_EVENTS: "user*" }, []],
      [{}, ["--events", "user.*,*.created"]],
    ] as const) {
      const cwd = makeTempDir();
      const started = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", ...args], {
        cwd,
        env: { CLERK_WEBHOOK_SIGNING_SECRET: generateSecret(), ...env },
      });
      expect(started.code).toBe(1);
      expect(started.stderr).toContain("[invalid_config]");
      expect(started.stdout).not.toContain('"listening"');
      expect(readdirSync(cwd)).toEqual([]);
    }
  });

  test("kill -9 right after the last 2xx: every acknowledged delivery is in the file after a restart", async () => {
    const svc = await startServiceProcess();
    const events = Array.from({ length: 40 }, () => userEvent("user.created"));
    const replies = await Promise.all(events.map((event) => svc.post(event)));
    // Immediately: no grace for buffers to be flushed.
    const killed = svc.kill9();
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe("applied");
    }
    expect((await killed).signal).toBe("SIGKILL");

    await svc.restart();
    expect(svc.counts()).toEqual({ events: 40, users: 40, emails: 40 });
    events.forEach((event, i) => {
      const [email] = emailsOf(event);
      expectUserRowMatches(svc.user(String(event.data.id)), event, email?.email_address ?? "missing");
      expect(svc.event(replies[i]?.id ?? "")).toMatchObject({ status: "applied", delivery_count: 1 });
    });
    // The restarted service carries on from the same file: retries of acknowledged deliveries are duplicates.
    const retry = await svc.post(events[0] as Event, { id: replies[0]?.id ?? "" });
    expect(retry.body.status).toBe("duplicate");
    expect((await svc.stop()).code).toBe(0);
    expectNoSecretInStdout(svc);
  });

  test("kill -9 with deliveries in flight: acknowledged ones are kept, the others all-or-nothing", async () => {
    const svc = await startServiceProcess();
    const events = Array.from({ length: 60 }, () => userEvent("user.created"));
    let acknowledged = 0;
    const outcomes = await Promise.all(
      events.map((event) =>
        svc.post(event).then(
          (reply) => {
            if (reply.status === 200 && ++acknowledged === 20) void svc.kill9();
            return { event, reply };
          },
          () => ({ event, reply: undefined }),
        ),
      ),
    );
    await svc.kill9();
    await svc.restart();
    let kept = 0;
    for (const { event, reply } of outcomes) {
      const userId = String(event.data.id);
      const row = svc.user(userId);
      const delivery = svc.get("SELECT * FROM clerk_webhook_events WHERE object_id = ?", userId);
      if (reply?.status === 200) {
        expect(reply.body.status).toBe("applied");
        expect(row).toBeDefined();
        expect(delivery).toMatchObject({ svix_id: reply.id, status: "applied" });
        kept++;
      } else {
        // Never acknowledged: either fully applied or not at all.
        expect(row === undefined).toBe(delivery === undefined);
        expect(svc.emails(userId)).toHaveLength(row ? 1 : 0);
      }
    }
    expect(kept).toBeGreaterThanOrEqual(20);
    expect((await svc.stop()).code).toBe(0);
  });

  test("SIGTERM with deliveries in flight: every 2xx is in the file, the others are refused or absent, exit 0", async () => {
    const svc = await startServiceProcess();
    // A delivery whose body is still arriving when SIGTERM lands.
    const slowEvent = userEvent("user.created");
    const slow = svc.openPost(slowEvent);
    await slow.write(slow.bytes.subarray(0, 200));
    await delay(150);

    const burst = Array.from({ length: 30 }, () => userEvent("user.created"));
    let firstReplied: () => void = () => {};
    const firstReply = new Promise<void>((resolve) => {
      firstReplied = resolve;
    });
    const outcomes = Promise.all(
      burst.map((event) =>
        svc.post(event).then(
          (reply) => {
            firstReplied();
            return { event, reply };
          },
          () => {
            firstReplied();
            return { event, reply: undefined };
          },
        ),
      ),
    );
    await firstReply;
    svc.signal("SIGTERM");
    await delay(100);
    slow.end(slow.bytes.subarray(200));

    const slowReply = await slow.reply;
    expect(slowReply.status).toBe(200);
    expect(slowReply.body.status).toBe("applied");
    const exit = await svc.exited();
    expect(exit).toEqual({ code: 0, signal: null });

    const stopped = svc.counts();
    expect(svc.user(String(slowEvent.data.id))).toBeDefined();
    expect(svc.event(slow.id)).toMatchObject({ status: "applied" });
    let acknowledged = 0;
    for (const { event, reply } of await outcomes) {
      const userId = String(event.data.id);
      const row = svc.user(userId);
      const delivery = svc.get("SELECT * FROM clerk_webhook_events WHERE object_id = ?", userId);
      if (reply?.status === 200) {
        acknowledged++;
        expect(reply.body.status).toBe("applied");
        expect(row).toBeDefined();
        expect(delivery).toMatchObject({ svix_id: reply.id, status: "applied" });
      } else if (reply) {
        // Refused while shutting down: Svix retries it later; nothing was written.
        expect(reply.status).toBe(503);
        expect(reply.body.error.code).toBe("shutting_down");
        expect(row).toBeUndefined();
        expect(delivery).toBeUndefined();
      } else {
        expect(row === undefined).toBe(delivery === undefined);
      }
    }
    expect(acknowledged).toBeGreaterThanOrEqual(1);
    expect(stopped.users).toBe(stopped.events);
    expectNoSecretInStdout(svc);
  });

  test("dev secret: created in .env.local, reused on restart; `send` and `status --json` work in that folder", async () => {
    const cwd = makeTempDir("clerk-sync-dev-");
    const svc = await startServiceProcess({ secret: null, cwd, databaseFlag: false });
    const envLocalPath = join(cwd, ".env.local");
    const envLocal = readFileSync(envLocalPath, "utf8");
    const secret = svc.envLocal().CLERK_WEBHOOK_SIGNING_SECRET ?? "";
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(statSync(envLocalPath).mode & 0o777).toBe(0o600);
    expect(svc.secret).toBe(secret);
    expect(svc.dbPath).toBe(join(cwd, "clerk-sync.db"));

    // A restart reads the secret back instead of making another.
    await svc.restart();
    expect(readFileSync(envLocalPath, "utf8")).toBe(envLocal);
    const direct = await svc.post(userEvent("user.created"), { secret });
    expect(direct.status).toBe(200);
    expect(direct.body.status).toBe("applied");

    const userId = newClerkId("user");
    const sent = await runCli(["send", "user.created", "--port", String(svc.port), "--id", userId], { cwd });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^200 /m);
    expect(svc.user(userId)).toMatchObject({ id: userId, deleted_at: null });
    expect(svc.emails(userId)).toHaveLength(1);
    expect(svc.get("SELECT status FROM clerk_webhook_events WHERE object_id = ?", userId)).toEqual({
      status: "applied",
    });

    const status = await runCli(["status", "--json"], { cwd });
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as {
      tables: { table: string; rows: number; deleted: number | null }[];
      deliveries: Record<string, number>;
      last: { svix_id: string; object_id: string | null; status: string }[];
    };
    expect(report.tables).toEqual(
      expect.arrayContaining([
        { table: "clerk_users", rows: 2, deleted: 0 },
        { table: "clerk_user_email_addresses", rows: 2, deleted: null },
      ]),
    );
    expect(report.deliveries).toMatchObject({ total: 2, applied: 2 });
    expect(report.last.map((d) => d.object_id)).toEqual(expect.arrayContaining([userId, direct.body.object_id]));

    expect(readFileSync(envLocalPath, "utf8")).toBe(envLocal);
    expect((await svc.stop()).code).toBe(0);
    expectNoSecretInStdout(svc, secret);
    for (const output of [sent.stdout, status.stdout]) expect(output).not.toContain(secret);
  });
});
