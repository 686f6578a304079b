/**
 * Chaos: a fuzzer (fast-check) of what a hostile or broken sender can put on the wire, against the
 * real service process: unsigned requests with any headers and body, and validly signed bodies of
 * any shape (Clerk-like envelopes with wrong types, unknown event types, any JSON, non-JSON).
 * Nothing the sender could fix gets a 5xx, the service stays alive, and a refused request writes
 * nothing: no mirrored row, and no delivery row unless it is a recorded `unstorable_payload`.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, test } from "vitest";
import { CLERK_EVENT_TYPES } from "../src/core/events.js";
import { newMessageId } from "../src/testing/sign.js";
import { type ServiceProcess, startServiceProcess } from "./helpers/service-process.js";

let svc: ServiceProcess;
beforeAll(async () => {
  svc = await startServiceProcess();
});
afterAll(async () => {
  await svc?.stop();
});

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 60,
});

const mirrored = () =>
  svc.withDb((db) =>
    ["clerk_users", "clerk_organizations", "clerk_organization_memberships", "clerk_sessions", "clerk_objects"].reduce(
      (n, table) => n + (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n,
      0,
    ),
  );

/** Checks one answer: no 5xx, and a refusal changed nothing (or recorded only its own failure). */
function expectNoHarm(status: number, svixId: string, before: number, body: { error?: { code?: string } } | null) {
  expect(status, JSON.stringify(body)).toBeLessThan(500);
  if (status >= 300) {
    expect(mirrored()).toBe(before);
    const row = svc.event(svixId);
    if (body?.error?.code === "unstorable_payload") expect(row?.status).toBe("failed");
    else expect(row).toBeUndefined();
  }
}

test("unsigned requests with any headers and body: 4xx, nothing written", async () => {
  const headerName = fc.constantFrom(
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "webhook-id",
    "webhook-signature",
    "content-type",
  );
  await fc.assert(
    fc.asyncProperty(
      fc.dictionary(headerName, printable, { maxKeys: 6 }),
      fc.oneof(
        printable,
        fc.json(),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1")),
      ),
      async (headers, body) => {
        const before = mirrored();
        const svixId = headers["svix-id"] ?? newMessageId();
        const response = await fetch(svc.webhookUrl, { method: "POST", headers, body });
        const reply = await response.json().catch(() => null);
        expectNoHarm(response.status, svixId, before, reply);
        expect(response.status).toBeGreaterThanOrEqual(400);
      },
    ),
    { numRuns: 300, seed: 13 },
  );
});

/** Envelopes close to Clerk's, with any value where a field is expected. */
const envelope = fc.record(
  {
    object: fc.oneof(fc.constant("event"), fc.jsonValue()),
    type: fc.oneof(fc.constantFrom(...CLERK_EVENT_TYPES), printable, fc.jsonValue()),
    timestamp: fc.oneof(fc.integer(), fc.double(), fc.constant(Date.now()), fc.jsonValue()),
    data: fc.oneof(
      fc.record(
        {
          id: fc.oneof(printable, fc.jsonValue()),
          object: fc.oneof(
            fc.constantFrom("user", "organization", "session", "organization_membership"),
            fc.jsonValue(),
          ),
          updated_at: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
          email_addresses: fc.jsonValue(),
          public_metadata: fc.jsonValue(),
          first_name: fc.oneof(fc.string(), fc.jsonValue()),
          organization: fc.jsonValue(),
          public_user_data: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
    ),
  },
  { requiredKeys: [] },
);

test("validly signed bodies of any shape: never a 5xx, refusals write nothing, the service stays up", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        { weight: 4, arbitrary: envelope.map((e) => JSON.stringify(e)) },
        { weight: 1, arbitrary: fc.json() },
        { weight: 1, arbitrary: fc.string() },
      ),
      async (body) => {
        const before = mirrored();
        const reply = await svc.post(body);
        expectNoHarm(reply.status, reply.id, before, reply.body);
      },
    ),
    { numRuns: 300, seed: 17 },
  );
  expect((await svc.request("/healthz")).status).toBe(200);
  expect((await svc.request("/readyz")).status).toBe(200);
  expect(svc.running).toBe(true);
});
