// Compile-time checks of the hooks API: `npm run typecheck` fails if narrowing breaks.
import type { Kysely } from "kysely";
import { describe, expectTypeOf, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import type { DeletedObjectJSON, OrganizationMembershipJSON, UserJSON } from "../src/core/events.js";
import type { ClerkSyncDatabase } from "../src/store/schema/database.js";
import type { ClerkSyncStore } from "../src/store/store.js";

// Never used to run anything: the hooks are only registered.
const store = {} as ClerkSyncStore;

describe("hook types", () => {
  it("narrows the event by the name it is registered for", () => {
    const engine = new SyncEngine(store);
    engine.on("user.created", (event, ctx) => {
      expectTypeOf(event.type).toEqualTypeOf<"user.created">();
      expectTypeOf(event.data).toEqualTypeOf<UserJSON>();
      expectTypeOf(ctx.db).toEqualTypeOf<Kysely<ClerkSyncDatabase>>();
      expectTypeOf(ctx.outcome).toEqualTypeOf<"applied" | "stale" | "ignored">();
    });
    engine.on("user.deleted", (event) => {
      expectTypeOf(event.data).toEqualTypeOf<DeletedObjectJSON>();
    });
    engine.on(["organizationMembership.created", "organizationMembership.deleted"], (event) => {
      expectTypeOf(event.data).toEqualTypeOf<OrganizationMembershipJSON>();
      expectTypeOf(event.type).toEqualTypeOf<"organizationMembership.created" | "organizationMembership.deleted">();
    });
    engine.on(["user.created", "user.deleted"], (event) => {
      if (event.type === "user.created") expectTypeOf(event.data).toEqualTypeOf<UserJSON>();
      else expectTypeOf(event.data).toEqualTypeOf<DeletedObjectJSON>();
    });
    engine.onAny((event) => {
      expectTypeOf(event.type).toEqualTypeOf<string>();
    });
  });

  it("refuses unknown event names and wrong field access", () => {
    const engine = new SyncEngine(store);
    // @ts-expect-error: not a Clerk event type
    engine.on("user.exploded", () => {});
    engine.on("user.deleted", (event) => {
      // @ts-expect-error: deletion stubs carry no first_name
      void event.data.first_name.length;
    });
    engine.on("organization.created", (event) => {
      // @ts-expect-error: organizations have no email_addresses
      void event.data.email_addresses.length;
    });
  });
});
