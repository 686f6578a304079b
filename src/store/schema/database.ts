import type { ColumnType, Generated } from "kysely";

/**
 * The tables clerk-sync maintains, typed for Kysely queries. Times are epoch milliseconds.
 * What the drivers hand back differs (docs/databases.md): JSON columns are text on SQLite and
 * MySQL/MariaDB (through the pool clerk-sync opens) and parsed values on PostgreSQL; booleans
 * are 0/1 on SQLite and MySQL; bigint columns are numbers, except through your own `pg` pool,
 * which returns them as strings. The query helpers and `normalizeRow` smooth all of it over.
 */
export interface ClerkSyncDatabase {
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
}

/** Columns every mirrored entity table has. */
export interface EntityColumns {
  id: string;
  version: Millis;
  deleted_at: Millis | null;
  created_at: Millis | null;
  updated_at: Millis | null;
  data: Json;
}

export interface ClerkOrganizationsTable extends EntityColumns {
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

export interface ClerkOrganizationMembershipsTable extends EntityColumns {
  organization_id: string | null;
  user_id: string | null;
  role: string | null;
  permissions: Json;
  public_user_data: Json;
  public_metadata: Json;
  private_metadata: Json;
}

export interface ClerkOrganizationInvitationsTable extends EntityColumns {
  organization_id: string | null;
  email_address: string | null;
  role: string | null;
  status: string | null;
  user_id: string | null;
  expires_at: Millis | null;
  public_metadata: Json;
  private_metadata: Json;
}

export interface ClerkOrganizationDomainsTable extends EntityColumns {
  organization_id: string | null;
  name: string | null;
  enrollment_mode: string | null;
  affiliation_email_address: string | null;
  verification: Json;
}

export interface ClerkSessionsTable extends EntityColumns {
  user_id: string | null;
  client_id: string | null;
  status: string | null;
  last_active_organization_id: string | null;
  actor: Json;
  last_active_at: Millis | null;
  expire_at: Millis | null;
  abandon_at: Millis | null;
}

export interface ClerkRolesTable extends EntityColumns {
  key: string | null;
  name: string | null;
  description: string | null;
  permissions: Json;
  is_creator_eligible: Bool | null;
}

export interface ClerkPermissionsTable extends EntityColumns {
  key: string | null;
  name: string | null;
  description: string | null;
  type: string | null;
}

export interface ClerkWaitlistEntriesTable extends EntityColumns {
  email_address: string | null;
  status: string | null;
  is_locked: Bool | null;
  invitation: Json;
}

export interface ClerkObjectsTable extends EntityColumns {
  object_type: string | null;
  status: string | null;
}

type Json = unknown;
type Bool = boolean | number;
type Millis = ColumnType<number, number, number>;

export interface ClerkUsersTable {
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

export interface ClerkUserEmailAddressesTable {
  id: string;
  user_id: string;
  email_address: string;
  verification_status: string | null;
  is_primary: Bool;
}

export interface ClerkWebhookEventsTable {
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
}
