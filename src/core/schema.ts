/**
 * The table contract users query, as data: the single description of every table the migrations
 * create for users (mirrored tables and the delivery log), with each column's logical type,
 * nullability and storage variant, the primary key and the secondary indexes. The store turns
 * the logical types into dialect SQL; the Kysely types (`store/schema/database.ts`) are derived
 * from it; `test/schema.contract.test.ts` holds the migrations to it on every database.
 */

/** Logical column types; each dialect maps them (see store/dialect.ts). */
export type ColumnType = "text" | "bigint" | "bool" | "json";

/**
 * How a column is stored where its logical type leaves a choice: `key` is text in a key or an
 * index (varchar(255) on MySQL, which cannot index `text`), `longtext` text beyond MySQL's 64 KiB
 * `text`, `int` a 32-bit counter rather than a bigint.
 */
export type StorageVariant = "key" | "longtext" | "int";

/** One column as the migrations create it. */
export interface ColumnSpec {
  readonly type: ColumnType;
  /** The storage variant, where the column has one (the dialect's SQL type for `type` otherwise). */
  readonly storage?: StorageVariant;
  readonly nullable: boolean;
  /** The value the database fills in when an insert leaves the column out. */
  readonly default?: number;
  /** Left out of inserts: the database fills it (Kysely's `Generated` in the derived types). */
  readonly generated?: boolean;
}

/** A secondary index as the migrations create it. */
export interface IndexSpec {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique?: boolean;
}

/** One table as the migrations create it. */
export interface TableSpec {
  readonly name: TableName;
  /** Every column, in the order the migrations create them. */
  readonly columns: Readonly<Record<string, ColumnSpec>>;
  readonly primaryKey: readonly string[];
  /** Secondary indexes (the primary key's own index is not listed). */
  readonly indexes: readonly IndexSpec[];
}

export interface EntityTable {
  readonly name: EntityTableName;
  /** Data columns written from the payload (besides id, version, deleted_at). */
  readonly columns: Readonly<Record<string, ColumnType>>;
  /** Data columns that a hard delete keeps (the rest are cleared). */
  readonly keep?: readonly string[];
  /** The whole table: system and data columns, primary key, indexes. */
  readonly table: TableSpec;
}

export interface ChildTable {
  readonly name: ChildTableName;
  /** The column that points at the parent row (not a foreign key: children may come first). */
  readonly parentColumn: string;
  readonly columns: Readonly<Record<string, ColumnType>>;
  /** The whole table: columns, primary key, indexes. */
  readonly table: TableSpec;
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
/** Every table of the contract (the migrator's own tables are not part of it). */
export type TableName =
  | EntityTableName
  | ChildTableName
  | "clerk_webhook_events"
  | "clerk_webhook_attempts"
  | "clerk_webhook_rejections"
  | "clerk_sync_runs";

/** The logical types of a set of column specs: `{ id: "text", … }`. */
export type LogicalTypes<C extends Readonly<Record<string, ColumnSpec>>> = { readonly [K in keyof C]: C[K]["type"] };

function logicalTypes<const C extends Readonly<Record<string, ColumnSpec>>>(columns: C): LogicalTypes<C> {
  return Object.fromEntries(Object.entries(columns).map(([name, spec]) => [name, spec.type])) as LogicalTypes<C>;
}

/** Indexes named as the migrations name them: `<table>_<column>_idx`, one column each. */
function indexesOn(table: TableName, columns: readonly string[]): IndexSpec[] {
  return columns.map((column) => ({ name: `${table}_${column}_idx`, columns: [column] }));
}

// Column shorthands: every data column of a mirrored table may be null (a payload may lack the field).
const text = { type: "text", nullable: true } as const;
const key = { type: "text", storage: "key", nullable: true } as const;
const bigint = { type: "bigint", nullable: true } as const;
const bool = { type: "bool", nullable: true } as const;
const json = { type: "json", nullable: true } as const;

/** The columns every mirrored entity table starts with. */
export const ENTITY_SYSTEM_COLUMN_SPECS = {
  id: { type: "text", storage: "key", nullable: false },
  /** The data version: `updated_at` of the last applied payload (ms). 0 for a bare tombstone. */
  version: { type: "bigint", nullable: false, default: 0 },
  /** When the object was deleted (the deletion event's time, ms); null while it exists. */
  deleted_at: bigint,
} as const satisfies Record<string, ColumnSpec>;

/** Columns every mirrored entity table has besides its data columns, by logical type. */
export const ENTITY_SYSTEM_COLUMNS = logicalTypes(ENTITY_SYSTEM_COLUMN_SPECS) satisfies Record<string, ColumnType>;

/** An entity table of the contract, its literal column specs kept for the derived types. */
export interface EntityTableOf<N extends EntityTableName, C extends Readonly<Record<string, ColumnSpec>>> {
  readonly name: N;
  readonly columns: LogicalTypes<C>;
  readonly keep?: readonly (keyof C & string)[];
  readonly table: {
    readonly name: N;
    readonly columns: typeof ENTITY_SYSTEM_COLUMN_SPECS & C;
    readonly primaryKey: readonly ["id"];
    readonly indexes: readonly IndexSpec[];
  };
}

/**
 * A mirrored entity table: the system columns (`id` primary key, `version`, `deleted_at`), then
 * `data` columns, one-column indexes on `indexed`.
 */
function entity<const N extends EntityTableName, const C extends Readonly<Record<string, ColumnSpec>>>(
  name: N,
  data: C,
  indexed: readonly (keyof C & string)[],
  keep?: readonly (keyof C & string)[],
): EntityTableOf<N, C> {
  return {
    name,
    columns: logicalTypes(data),
    ...(keep === undefined ? {} : { keep }),
    table: {
      name,
      columns: { ...ENTITY_SYSTEM_COLUMN_SPECS, ...data },
      primaryKey: ["id"],
      indexes: indexesOn(name, indexed),
    },
  };
}

const TIMES = { created_at: bigint, updated_at: bigint } as const;
const METADATA = { public_metadata: json, private_metadata: json } as const;

export const USERS = entity(
  "clerk_users",
  {
    external_id: key,
    username: key,
    first_name: text,
    last_name: text,
    image_url: text,
    primary_email_address: key,
    primary_phone_number: key,
    ...METADATA,
    unsafe_metadata: json,
    banned: bool,
    locked: bool,
    last_sign_in_at: bigint,
    last_active_at: bigint,
    ...TIMES,
    data: json,
  },
  ["external_id", "username", "primary_email_address"],
);

export const ORGANIZATIONS = entity(
  "clerk_organizations",
  {
    name: text,
    slug: key,
    image_url: text,
    created_by: key,
    members_count: bigint,
    max_allowed_memberships: bigint,
    admin_delete_enabled: bool,
    ...METADATA,
    ...TIMES,
    data: json,
  },
  ["slug"],
);

export const ORGANIZATION_MEMBERSHIPS = entity(
  "clerk_organization_memberships",
  {
    organization_id: key,
    user_id: key,
    role: key,
    permissions: json,
    public_user_data: json,
    ...METADATA,
    ...TIMES,
    data: json,
  },
  ["organization_id", "user_id"],
  ["organization_id", "user_id"],
);

export const ORGANIZATION_INVITATIONS = entity(
  "clerk_organization_invitations",
  {
    organization_id: key,
    email_address: key,
    role: key,
    status: key,
    user_id: key,
    expires_at: bigint,
    ...METADATA,
    ...TIMES,
    data: json,
  },
  ["organization_id", "email_address"],
);

export const ORGANIZATION_DOMAINS = entity(
  "clerk_organization_domains",
  {
    organization_id: key,
    name: key,
    enrollment_mode: key,
    affiliation_email_address: text,
    verification: json,
    ...TIMES,
    data: json,
  },
  ["organization_id", "name"],
);

export const SESSIONS = entity(
  "clerk_sessions",
  {
    user_id: key,
    client_id: key,
    status: key,
    last_active_organization_id: key,
    actor: json,
    last_active_at: bigint,
    expire_at: bigint,
    abandon_at: bigint,
    ...TIMES,
    data: json,
  },
  ["user_id", "status"],
);

export const ROLES = entity(
  "clerk_roles",
  {
    key,
    name: text,
    description: text,
    permissions: json,
    is_creator_eligible: bool,
    ...TIMES,
    data: json,
  },
  ["key"],
);

export const PERMISSIONS = entity(
  "clerk_permissions",
  { key, name: text, description: text, type: key, ...TIMES, data: json },
  ["key"],
);

export const WAITLIST_ENTRIES = entity(
  "clerk_waitlist_entries",
  { email_address: key, status: key, is_locked: bool, invitation: json, ...TIMES, data: json },
  ["email_address"],
);

/** Object kinds without a table of their own: billing objects and what Clerk adds next. */
export const OBJECTS = entity(
  "clerk_objects",
  { object_type: key, status: key, ...TIMES, data: json },
  ["object_type"],
  ["object_type"],
);

const USER_EMAIL_ADDRESS_COLUMNS = {
  id: { type: "text", storage: "key", nullable: false },
  user_id: { type: "text", storage: "key", nullable: false },
  email_address: { type: "text", storage: "key", nullable: false },
  verification_status: key,
  is_primary: { type: "bool", nullable: false },
} as const satisfies Record<string, ColumnSpec>;

export const USER_EMAIL_ADDRESSES = {
  name: "clerk_user_email_addresses",
  parentColumn: "user_id",
  columns: logicalTypes(USER_EMAIL_ADDRESS_COLUMNS),
  table: {
    name: "clerk_user_email_addresses",
    columns: USER_EMAIL_ADDRESS_COLUMNS,
    primaryKey: ["id"],
    indexes: indexesOn("clerk_user_email_addresses", ["user_id", "email_address"]),
  },
} as const satisfies ChildTable;

/** The delivery log: one row per delivery id (`svix-id`), its outcome and its raw payload. */
export const WEBHOOK_EVENTS = {
  name: "clerk_webhook_events",
  columns: {
    svix_id: { type: "text", storage: "key", nullable: false },
    type: { type: "text", storage: "key", nullable: false },
    /** `data.object` of the payload. */
    object_type: key,
    /** `data.id` of the payload. */
    object_id: key,
    /** The envelope's timestamp, ms. */
    event_timestamp: bigint,
    first_received_at: { type: "bigint", nullable: false },
    last_received_at: { type: "bigint", nullable: false },
    delivery_count: { type: "bigint", storage: "int", nullable: false, default: 1, generated: true },
    /** A {@link DeliveryStatus}. */
    status: { type: "text", storage: "key", nullable: false },
    /** A {@link DeliveryOutcome}: the latest attempt's, `duplicate` included. */
    last_outcome: { type: "text", storage: "key", nullable: false },
    error_code: key,
    error_message: text,
    /** The raw body exactly as received; empty once pruned by retention (see `payload_pruned_at`). */
    payload: { type: "text", storage: "longtext", nullable: false },
    /** When retention removed the payload (ms); null while it is kept. The row and its status stay. */
    payload_pruned_at: bigint,
  },
  primaryKey: ["svix_id"],
  // Keyset pagination, newest first, for each filter of the deliveries list (store/delivery-log.ts):
  // `(filter, first_received_at, svix_id)`, so a page is one index range read in order.
  indexes: [
    { name: "clerk_webhook_events_object_id_received_idx", columns: ["object_id", "first_received_at", "svix_id"] },
    { name: "clerk_webhook_events_received_idx", columns: ["first_received_at", "svix_id"] },
    { name: "clerk_webhook_events_status_received_idx", columns: ["status", "first_received_at", "svix_id"] },
    { name: "clerk_webhook_events_type_received_idx", columns: ["type", "first_received_at", "svix_id"] },
  ],
} as const satisfies TableSpec;

/**
 * Every attempt at a verified delivery (an HTTP delivery or a replay), the last few per delivery
 * id (`attemptsPerDelivery`, default 20): written in the same transaction as the delivery's
 * outcome. `attempt` is the delivery row's `delivery_count` after that attempt.
 */
export const WEBHOOK_ATTEMPTS = {
  name: "clerk_webhook_attempts",
  columns: {
    svix_id: { type: "text", storage: "key", nullable: false },
    attempt: { type: "bigint", storage: "int", nullable: false },
    /** When the attempt was received (a replay: when it started), ms. */
    received_at: { type: "bigint", nullable: false },
    /** An {@link AttemptSource}. */
    source: { type: "text", storage: "key", nullable: false },
    /** A {@link DeliveryOutcome}. */
    outcome: { type: "text", storage: "key", nullable: false },
    /** The HTTP status answered (null for a replay, which answers no HTTP request). */
    http_status: { type: "bigint", storage: "int", nullable: true },
    error_code: key,
    error_message: text,
    /** From receipt to the outcome written in the transaction, ms. */
    duration_ms: { type: "bigint", storage: "int", nullable: true },
  },
  primaryKey: ["svix_id", "attempt"],
  indexes: [],
} as const satisfies TableSpec;

/**
 * Requests refused before verification succeeded (a missing header, a bad signature, a stale
 * timestamp, a body too large or not JSON): a bounded log that keeps no secret and no body, only
 * the header names, the body's size and the source address.
 */
export const WEBHOOK_REJECTIONS = {
  name: "clerk_webhook_rejections",
  columns: {
    /** A random id. */
    id: { type: "text", storage: "key", nullable: false },
    received_at: { type: "bigint", nullable: false },
    /** The {@link ErrorCode} answered. */
    code: { type: "text", storage: "key", nullable: false },
    http_status: { type: "bigint", storage: "int", nullable: false },
    /** The `svix-id` / `webhook-id` header as sent (unverified), if any. */
    svix_id: key,
    /** The client's address as the adapter saw it, if it knows it. */
    source_address: key,
    /** The request's header names (never their values), lower-case, comma-separated. */
    header_names: text,
    /** The body's size in bytes (the body itself is never kept). */
    body_bytes: bigint,
  },
  primaryKey: ["id"],
  indexes: [
    { name: "clerk_webhook_rejections_code_received_idx", columns: ["code", "received_at", "id"] },
    { name: "clerk_webhook_rejections_received_idx", columns: ["received_at", "id"] },
  ],
} as const satisfies TableSpec;

/** What made an attempt: an HTTP delivery, a replay, or a forced replay (its hooks re-run). */
export type AttemptSource = "webhook" | "replay" | "force";

/**
 * Runs of writes from Clerk's Backend API (backfill, reconcile): they carry no `svix-id`, so each
 * run is one row, its checkpoint (`cursor`) and counts updated in the same transaction as each
 * page it writes. A run that did not finish is resumed from its cursor.
 */
export const SYNC_RUNS = {
  name: "clerk_sync_runs",
  columns: {
    id: { type: "text", storage: "key", nullable: false },
    /** A {@link SyncRunKind}. */
    kind: { type: "text", storage: "key", nullable: false },
    /** The object kinds the run covers, in order, comma-separated: `users,organizations,memberships`. */
    objects: { type: "text", storage: "key", nullable: false },
    /** A {@link SyncRunStatus}. */
    status: { type: "text", storage: "key", nullable: false },
    /** The object kind being walked (null before the first page and once done). */
    current: key,
    /** Where the walk of `current` resumes: the API client's cursor (plain JSON). */
    cursor: json,
    /** Per object kind: `{ inserted, updated, unchanged, stale, total? }`. */
    counts: { type: "json", nullable: false },
    started_at: { type: "bigint", nullable: false },
    /** The last committed page (or status change). */
    updated_at: { type: "bigint", nullable: false },
    finished_at: bigint,
    error_code: key,
    error_message: text,
  },
  primaryKey: ["id"],
  indexes: indexesOn("clerk_sync_runs", ["status", "started_at"]),
} as const satisfies TableSpec;

/** What a run of writes from the Backend API does. */
export type SyncRunKind = "backfill" | "reconcile";
/** Where a run stands: `running` until done or failed (a killed run stays `running` and is resumed). */
export type SyncRunStatus = "running" | "done" | "failed";

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

/**
 * Every table of the contract, as the migrations create it. Literal types: the Kysely types are
 * derived from it (`store/schema/database.ts`).
 */
export const TABLES = {
  clerk_users: USERS.table,
  clerk_user_email_addresses: USER_EMAIL_ADDRESSES.table,
  clerk_organizations: ORGANIZATIONS.table,
  clerk_organization_memberships: ORGANIZATION_MEMBERSHIPS.table,
  clerk_organization_invitations: ORGANIZATION_INVITATIONS.table,
  clerk_organization_domains: ORGANIZATION_DOMAINS.table,
  clerk_sessions: SESSIONS.table,
  clerk_roles: ROLES.table,
  clerk_permissions: PERMISSIONS.table,
  clerk_waitlist_entries: WAITLIST_ENTRIES.table,
  clerk_objects: OBJECTS.table,
  clerk_webhook_events: WEBHOOK_EVENTS,
  clerk_webhook_attempts: WEBHOOK_ATTEMPTS,
  clerk_webhook_rejections: WEBHOOK_REJECTIONS,
  clerk_sync_runs: SYNC_RUNS,
} as const satisfies { readonly [N in TableName]: TableSpec & { readonly name: N } };

/** Outcome recorded for a delivery id in `clerk_webhook_events.status`. */
export type DeliveryStatus = "applied" | "stale" | "ignored" | "failed";

/** What one HTTP delivery did: a status, or `duplicate` for a delivery id already processed. */
export type DeliveryOutcome = DeliveryStatus | "duplicate";

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["applied", "stale", "ignored", "failed"];
