// Compile-time checks of the derived table types: `npm run typecheck` fails if the Kysely types
// derived from the table contract (src/core/schema.ts) stop being what users had before.
import type { ColumnType, Generated, Kysely, Selectable } from "kysely";
import { describe, expectTypeOf, it } from "vitest";
import type { ColumnType as LogicalType, StorageVariant } from "../src/core/schema.js";
import type { StorageType } from "../src/store/dialect.js";
import type * as Derived from "../src/store/schema/database.js";

// The interfaces as they were written by hand before the contract derived them (verbatim).
interface ClerkSyncDatabase {
  clerk_users: ClerkUsersTable;
  clerk_user_email_addresses: ClerkUserEmailAddressesTable;
  clerk_organizations: ClerkOrganizationsTable;
  clerk_organization_memberships: ClerkOrganizationMembershipsTable;
  clerk_organization_invitations: ClerkOrganizationInvitationsTable;
  clerk_organization_domains: ClerkOrganizationDomainsTable;
  clerk_sessions: ClerkSessionsTable;
  clerk_roles: ClerkRolesTable;
  clerk_permissions: ClerkPermissionsTable;
  clerk_waitlist_entries: ClerkWaitlistEntriesTable;
  clerk_objects: ClerkObjectsTable;
  clerk_webhook_events: ClerkWebhookEventsTable;
  // Added by migration 0003 (not hand-written before the contract; spelled out here the same way).
  clerk_sync_runs: ClerkSyncRunsTable;
  // Added by migration 0004.
  clerk_webhook_attempts: ClerkWebhookAttemptsTable;
  clerk_webhook_rejections: ClerkWebhookRejectionsTable;
}

/** Columns every mirrored entity table has. */
interface EntityColumns {
  id: string;
  version: Millis;
  deleted_at: Millis | null;
  created_at: Millis | null;
  updated_at: Millis | null;
  data: Json;
}

interface ClerkOrganizationsTable extends EntityColumns {
  name: string | null;
  slug: string | null;
  image_url: string | null;
  created_by: string | null;
  members_count: Millis | null;
  max_allowed_memberships: Millis | null;
  admin_delete_enabled: Bool | null;
  public_metadata: Json;
  private_metadata: Json;
}

interface ClerkOrganizationMembershipsTable extends EntityColumns {
  organization_id: string | null;
  user_id: string | null;
  role: string | null;
  permissions: Json;
  public_user_data: Json;
  public_metadata: Json;
  private_metadata: Json;
}

interface ClerkOrganizationInvitationsTable extends EntityColumns {
  organization_id: string | null;
  email_address: string | null;
  role: string | null;
  status: string | null;
  user_id: string | null;
  expires_at: Millis | null;
  public_metadata: Json;
  private_metadata: Json;
}

interface ClerkOrganizationDomainsTable extends EntityColumns {
  organization_id: string | null;
  name: string | null;
  enrollment_mode: string | null;
  affiliation_email_address: string | null;
  verification: Json;
}

interface ClerkSessionsTable extends EntityColumns {
  user_id: string | null;
  client_id: string | null;
  status: string | null;
  last_active_organization_id: string | null;
  actor: Json;
  last_active_at: Millis | null;
  expire_at: Millis | null;
  abandon_at: Millis | null;
}

interface ClerkRolesTable extends EntityColumns {
  key: string | null;
  name: string | null;
  description: string | null;
  permissions: Json;
  is_creator_eligible: Bool | null;
}

interface ClerkPermissionsTable extends EntityColumns {
  key: string | null;
  name: string | null;
  description: string | null;
  type: string | null;
}

interface ClerkWaitlistEntriesTable extends EntityColumns {
  email_address: string | null;
  status: string | null;
  is_locked: Bool | null;
  invitation: Json;
}

interface ClerkObjectsTable extends EntityColumns {
  object_type: string | null;
  status: string | null;
}

type Json = unknown;
type Bool = boolean | number;
type Millis = ColumnType<number, number, number>;

interface ClerkUsersTable {
  id: string;
  version: Millis;
  deleted_at: Millis | null;
  external_id: string | null;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  image_url: string | null;
  primary_email_address: string | null;
  primary_phone_number: string | null;
  public_metadata: Json;
  private_metadata: Json;
  unsafe_metadata: Json;
  banned: Bool | null;
  locked: Bool | null;
  last_sign_in_at: Millis | null;
  last_active_at: Millis | null;
  created_at: Millis | null;
  updated_at: Millis | null;
  data: Json;
}

interface ClerkUserEmailAddressesTable {
  id: string;
  user_id: string;
  email_address: string;
  verification_status: string | null;
  is_primary: Bool;
}

interface ClerkWebhookEventsTable {
  svix_id: string;
  type: string;
  object_type: string | null;
  object_id: string | null;
  event_timestamp: Millis | null;
  first_received_at: Millis;
  last_received_at: Millis;
  delivery_count: Generated<number>;
  status: string;
  last_outcome: string;
  error_code: string | null;
  error_message: string | null;
  payload: string;
  payload_pruned_at: Millis | null;
}

interface ClerkWebhookAttemptsTable {
  svix_id: string;
  attempt: Millis;
  received_at: Millis;
  source: string;
  outcome: string;
  http_status: Millis | null;
  error_code: string | null;
  error_message: string | null;
  duration_ms: Millis | null;
}

interface ClerkWebhookRejectionsTable {
  id: string;
  received_at: Millis;
  code: string;
  http_status: Millis;
  svix_id: string | null;
  source_address: string | null;
  header_names: string | null;
  body_bytes: Millis | null;
}

interface ClerkSyncRunsTable {
  id: string;
  kind: string;
  objects: string;
  status: string;
  current: string | null;
  cursor: Json;
  counts: Json;
  started_at: Millis;
  updated_at: Millis;
  finished_at: Millis | null;
  error_code: string | null;
  error_message: string | null;
}

describe("table types derived from the contract", () => {
  it("equal the hand-written interfaces they replace", () => {
    expectTypeOf<Derived.ClerkSyncDatabase>().toEqualTypeOf<ClerkSyncDatabase>();
    expectTypeOf<Derived.EntityColumns>().toEqualTypeOf<EntityColumns>();
    expectTypeOf<Derived.ClerkUsersTable>().toEqualTypeOf<ClerkUsersTable>();
    expectTypeOf<Derived.ClerkUserEmailAddressesTable>().toEqualTypeOf<ClerkUserEmailAddressesTable>();
    expectTypeOf<Derived.ClerkOrganizationsTable>().toEqualTypeOf<ClerkOrganizationsTable>();
    expectTypeOf<Derived.ClerkOrganizationMembershipsTable>().toEqualTypeOf<ClerkOrganizationMembershipsTable>();
    expectTypeOf<Derived.ClerkOrganizationInvitationsTable>().toEqualTypeOf<ClerkOrganizationInvitationsTable>();
    expectTypeOf<Derived.ClerkOrganizationDomainsTable>().toEqualTypeOf<ClerkOrganizationDomainsTable>();
    expectTypeOf<Derived.ClerkSessionsTable>().toEqualTypeOf<ClerkSessionsTable>();
    expectTypeOf<Derived.ClerkRolesTable>().toEqualTypeOf<ClerkRolesTable>();
    expectTypeOf<Derived.ClerkPermissionsTable>().toEqualTypeOf<ClerkPermissionsTable>();
    expectTypeOf<Derived.ClerkWaitlistEntriesTable>().toEqualTypeOf<ClerkWaitlistEntriesTable>();
    expectTypeOf<Derived.ClerkObjectsTable>().toEqualTypeOf<ClerkObjectsTable>();
    expectTypeOf<Derived.ClerkWebhookEventsTable>().toEqualTypeOf<ClerkWebhookEventsTable>();
    expectTypeOf<Derived.ClerkSyncRunsTable>().toEqualTypeOf<ClerkSyncRunsTable>();
    expectTypeOf<Derived.ClerkWebhookAttemptsTable>().toEqualTypeOf<ClerkWebhookAttemptsTable>();
    expectTypeOf<Derived.ClerkWebhookRejectionsTable>().toEqualTypeOf<ClerkWebhookRejectionsTable>();
  });

  it("give queries the same row types", () => {
    // An index signature slipping into a derived table would make every column `unknown` here.
    type Users = Selectable<Derived.ClerkSyncDatabase["clerk_users"]>;
    expectTypeOf<keyof Users>().toEqualTypeOf<keyof ClerkUsersTable>();
    expectTypeOf<Users["id"]>().toEqualTypeOf<string>();
    expectTypeOf<Users["version"]>().toEqualTypeOf<number>();
    // Never called: only its type is read.
    const query = (db: Kysely<Derived.ClerkSyncDatabase>) =>
      db.selectFrom("clerk_webhook_events").select(["svix_id", "delivery_count"]).executeTakeFirstOrThrow();
    expectTypeOf<Awaited<ReturnType<typeof query>>>().toEqualTypeOf<{
      svix_id: string;
      delivery_count: number;
    }>();
  });

  it("store the contract's storage types as the dialects know them", () => {
    expectTypeOf<StorageType>().toEqualTypeOf<LogicalType | StorageVariant>();
  });
});
