/**
 * The table contract users query, as data: which columns each mirrored table has and of which
 * logical type. The store turns these into dialect SQL; migrations create the same columns.
 */

/** Logical column types; each dialect maps them (see store/dialects.ts). */
export type ColumnType = "text" | "bigint" | "bool" | "json";

export interface EntityTable {
  readonly name: EntityTableName;
  /** Data columns written from the payload (besides id, version, deleted_at). */
  readonly columns: Readonly<Record<string, ColumnType>>;
  /** Data columns that a hard delete keeps (the rest are cleared). */
  readonly keep?: readonly string[];
}

export interface ChildTable {
  readonly name: ChildTableName;
  /** The column that points at the parent row (not a foreign key: children may come first). */
  readonly parentColumn: string;
  readonly columns: Readonly<Record<string, ColumnType>>;
}

export type EntityTableName =
  | "clerk_users"
  | "clerk_organizations"
  | "clerk_organization_memberships"
  | "clerk_organization_invitations"
  | "clerk_organization_domains"
  | "clerk_sessions"
  | "clerk_roles"
  | "clerk_permissions"
  | "clerk_waitlist_entries"
  | "clerk_objects";
export type ChildTableName = "clerk_user_email_addresses";

/** Columns every mirrored entity table has besides its data columns. */
export const ENTITY_SYSTEM_COLUMNS = {
  id: "text",
  /** The data version: `updated_at` of the last applied payload (ms). 0 for a bare tombstone. */
  version: "bigint",
  /** When the object was deleted (the deletion event's time, ms); null while it exists. */
  deleted_at: "bigint",
} as const satisfies Record<string, ColumnType>;

const TIMES = { created_at: "bigint", updated_at: "bigint" } as const;
const METADATA = { public_metadata: "json", private_metadata: "json" } as const;

export const USERS: EntityTable = {
  name: "clerk_users",
  columns: {
    external_id: "text",
    username: "text",
    first_name: "text",
    last_name: "text",
    image_url: "text",
    primary_email_address: "text",
    primary_phone_number: "text",
    ...METADATA,
    unsafe_metadata: "json",
    banned: "bool",
    locked: "bool",
    last_sign_in_at: "bigint",
    last_active_at: "bigint",
    ...TIMES,
    data: "json",
  },
};

export const ORGANIZATIONS: EntityTable = {
  name: "clerk_organizations",
  columns: {
    name: "text",
    slug: "text",
    image_url: "text",
    created_by: "text",
    members_count: "bigint",
    max_allowed_memberships: "bigint",
    admin_delete_enabled: "bool",
    ...METADATA,
    ...TIMES,
    data: "json",
  },
};

export const ORGANIZATION_MEMBERSHIPS: EntityTable = {
  name: "clerk_organization_memberships",
  columns: {
    organization_id: "text",
    user_id: "text",
    role: "text",
    permissions: "json",
    public_user_data: "json",
    ...METADATA,
    ...TIMES,
    data: "json",
  },
  keep: ["organization_id", "user_id"],
};

export const ORGANIZATION_INVITATIONS: EntityTable = {
  name: "clerk_organization_invitations",
  columns: {
    organization_id: "text",
    email_address: "text",
    role: "text",
    status: "text",
    user_id: "text",
    expires_at: "bigint",
    ...METADATA,
    ...TIMES,
    data: "json",
  },
};

export const ORGANIZATION_DOMAINS: EntityTable = {
  name: "clerk_organization_domains",
  columns: {
    organization_id: "text",
    name: "text",
    enrollment_mode: "text",
    affiliation_email_address: "text",
    verification: "json",
    ...TIMES,
    data: "json",
  },
};

export const SESSIONS: EntityTable = {
  name: "clerk_sessions",
  columns: {
    user_id: "text",
    client_id: "text",
    status: "text",
    last_active_organization_id: "text",
    actor: "json",
    last_active_at: "bigint",
    expire_at: "bigint",
    abandon_at: "bigint",
    ...TIMES,
    data: "json",
  },
};

export const ROLES: EntityTable = {
  name: "clerk_roles",
  columns: {
    key: "text",
    name: "text",
    description: "text",
    permissions: "json",
    is_creator_eligible: "bool",
    ...TIMES,
    data: "json",
  },
};

export const PERMISSIONS: EntityTable = {
  name: "clerk_permissions",
  columns: { key: "text", name: "text", description: "text", type: "text", ...TIMES, data: "json" },
};

export const WAITLIST_ENTRIES: EntityTable = {
  name: "clerk_waitlist_entries",
  columns: {
    email_address: "text",
    status: "text",
    is_locked: "bool",
    invitation: "json",
    ...TIMES,
    data: "json",
  },
};

/** Object kinds without a table of their own: billing objects and what Clerk adds next. */
export const OBJECTS: EntityTable = {
  name: "clerk_objects",
  columns: { object_type: "text", status: "text", ...TIMES, data: "json" },
  keep: ["object_type"],
};

export const USER_EMAIL_ADDRESSES: ChildTable = {
  name: "clerk_user_email_addresses",
  parentColumn: "user_id",
  columns: {
    id: "text",
    user_id: "text",
    email_address: "text",
    verification_status: "text",
    is_primary: "bool",
  },
};

export const ENTITY_TABLES: Readonly<Record<EntityTableName, EntityTable>> = {
  clerk_users: USERS,
  clerk_organizations: ORGANIZATIONS,
  clerk_organization_memberships: ORGANIZATION_MEMBERSHIPS,
  clerk_organization_invitations: ORGANIZATION_INVITATIONS,
  clerk_organization_domains: ORGANIZATION_DOMAINS,
  clerk_sessions: SESSIONS,
  clerk_roles: ROLES,
  clerk_permissions: PERMISSIONS,
  clerk_waitlist_entries: WAITLIST_ENTRIES,
  clerk_objects: OBJECTS,
};

export const CHILD_TABLES: Readonly<Record<ChildTableName, ChildTable>> = {
  clerk_user_email_addresses: USER_EMAIL_ADDRESSES,
};

/** Outcome recorded for a delivery id in `clerk_webhook_events.status`. */
export type DeliveryStatus = "applied" | "stale" | "ignored" | "failed";

/** What one HTTP delivery did: a status, or `duplicate` for a delivery id already processed. */
export type DeliveryOutcome = DeliveryStatus | "duplicate";

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["applied", "stale", "ignored", "failed"];
