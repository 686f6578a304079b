/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process, real HTTP,
 * a real SQLite file read back with SQL. Assertions are on status codes, error codes and reply
 * statuses, never on message text.
 *
 * This file: how deliveries are applied (applied, duplicate, stale, soft and hard delete, unknown
 * types), and the health endpoints of the same process.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { newClerkId } from "../src/testing/fixtures.js";
import {
  deletionOf,
  type EmailJson,
  emailsOf,
  expectNoSecretInStdout,
  expectUserRowMatches,
  nowSeconds,
  updateOf,
  userEvent,
} from "./helpers/service-events.js";
import { type ServiceProcess, startServiceProcess } from "./helpers/service-process.js";

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

    test("/healthz and /readyz answer HEAD, and 405 with Allow: GET, HEAD to any other method", async () => {
      for (const path of ["/healthz", "/readyz"]) {
        expect((await fetch(`${svc.url}${path}`, { method: "HEAD" })).status).toBe(200);
        for (const method of ["POST", "PUT", "DELETE"]) {
          const response = await fetch(`${svc.url}${path}`, { method, body: method === "DELETE" ? null : "{}" });
          expect(response.status).toBe(405);
          expect(response.headers.get("allow")).toBe("GET, HEAD");
          expect(((await response.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
        }
      }
    });
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
});
