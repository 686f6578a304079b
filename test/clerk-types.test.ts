// Hooks written against Clerk's own types (`WebhookEvent` from @clerk/backend, the type
// @clerk/nextjs/server re-exports), the way Clerk's guide writes webhook code, register with
// clerk-sync as they are: checked by `npm run typecheck` for every event type both know, and run
// once for real. docs/clerk-types.md says what differs between the two sets of types.
import { join } from "node:path";
import type {
  OrganizationMembershipJSON as ClerkMembershipJSON,
  UserJSON as ClerkUserJSON,
  UserWebhookEvent,
  WebhookEvent,
} from "@clerk/backend";
import type { Kysely } from "kysely";
import { describe, expect, expectTypeOf, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { CLERK_EVENT_TYPES, type ClerkEventType } from "../src/core/events.js";
import type { ForeignClerkEvent } from "../src/core/hooks.js";
import { parseEvent } from "../src/core/validate.js";
import { createClerkSync } from "../src/receiver/create-clerk-sync.js";
import type { ClerkSyncDatabase } from "../src/store/schema/database.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { freshExample } from "../src/testing/fixtures.js";
import { useTempDirs } from "./helpers/tmp.js";

/** The event types both clerk-sync and Clerk's `WebhookEvent` know. */
type Shared = ClerkEventType & WebhookEvent["type"];

/** Clerk's event for one type, narrowed as `if (evt.type === T)` narrows it in Clerk's guide. */
type ClerkEventOf<T extends string> = WebhookEvent extends infer W
  ? W extends { type: infer U }
    ? T extends U
      ? W & { type: T }
      : never
    : never
  : never;

/** Types whose Clerk event a hook could not be typed with (must be none). */
type Unregistrable = {
  [T in Shared]: [ClerkEventOf<T>] extends [ForeignClerkEvent]
    ? [T] extends [ClerkEventOf<T>["type"]]
      ? never
      : T
    : T;
}[Shared];

// Never used to run anything: the hooks are only registered.
const store = {} as ClerkSyncStore;

describe("Clerk's own event types in clerk-sync's hooks", () => {
  it("know the same event types, but for the ones listed in docs/clerk-types.md", () => {
    expectTypeOf<Exclude<ClerkEventType, WebhookEvent["type"]>>().toEqualTypeOf<"session.pending">();
    expectTypeOf<Exclude<WebhookEvent["type"], ClerkEventType>>().toEqualTypeOf<"subscriptionItem.created">();
    expectTypeOf<Unregistrable>().toEqualTypeOf<never>();
  });

  it("register a hook typed `(evt: WebhookEvent)` for every shared type, one at a time and all at once", () => {
    const engine = new SyncEngine(store);
    const sync = createClerkSync();
    const shared = CLERK_EVENT_TYPES.filter((t): t is Shared => t !== "session.pending");
    const guideHook = (evt: WebhookEvent) => {
      if (evt.type === "user.created") expectTypeOf(evt.data).toEqualTypeOf<ClerkUserJSON>();
    };
    for (const type of shared) {
      engine.on(type, guideHook);
      sync.on(type, guideHook);
    }
    engine.on(shared, guideHook);
    sync.on(shared, (evt: WebhookEvent, ctx) => {
      expectTypeOf(ctx.db).toEqualTypeOf<Kysely<ClerkSyncDatabase>>();
      if (evt.type === "organizationMembership.created") expectTypeOf(evt.data).toEqualTypeOf<ClerkMembershipJSON>();
    });
  });

  it("register hooks typed with one of Clerk's event members, for that member's types only", () => {
    const engine = new SyncEngine(store);
    engine.on(["user.created", "user.updated", "user.deleted"], (evt: UserWebhookEvent) => {
      if (evt.type !== "user.deleted") expectTypeOf(evt.data).toEqualTypeOf<ClerkUserJSON>();
    });
    // @ts-expect-error: a session event is not a UserWebhookEvent
    engine.on("session.created", (evt: UserWebhookEvent) => evt);
    // @ts-expect-error: Clerk's WebhookEvent has no session.pending
    engine.on("session.pending", (evt: WebhookEvent) => evt);
    // @ts-expect-error: not a Clerk event type at all
    engine.on("user.exploded", (evt: WebhookEvent) => evt);
    // A hook without a type annotation still gets clerk-sync's own narrowed event.
    engine.on("user.created", (evt) => {
      expectTypeOf(evt.type).toEqualTypeOf<"user.created">();
    });
  });
});

describe("a hook typed with Clerk's WebhookEvent, run", () => {
  const tempDir = useTempDirs("clerk-types");
  it("gets the payload Clerk sent, read as Clerk's guide reads it", async () => {
    const store = openSqliteStore({ filename: join(tempDir(), "c.db") });
    try {
      await store.migrate();
      const seen: string[] = [];
      const engine = new SyncEngine(store).on(["user.created", "user.updated"], (evt: WebhookEvent) => {
        if (evt.type === "user.created") {
          const primary = evt.data.email_addresses.find((e) => e.id === evt.data.primary_email_address_id);
          seen.push(`${evt.type} ${evt.data.id} ${primary?.email_address}`);
        }
      });
      const event = freshExample("user.created");
      const rawBody = JSON.stringify(event);
      expect((await engine.process({ svixId: "msg_clerk_types", rawBody, parsed: parseEvent(rawBody) })).outcome).toBe(
        "applied",
      );
      const data = event.data as { id: string; email_addresses: { id: string; email_address: string }[] };
      const primaryId = (event.data as { primary_email_address_id: string }).primary_email_address_id;
      const email = data.email_addresses.find((e) => e.id === primaryId)?.email_address;
      expect(email).toBeTypeOf("string");
      expect(seen).toEqual([`user.created ${data.id} ${email}`]);
    } finally {
      await store.close();
    }
  });
});
