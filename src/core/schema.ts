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
}

export interface ChildTable {
  readonly name: ChildTableName;
  /** The column that points at the parent row (not a foreign key: children may come first). */
  readonly parentColumn: string;
  readonly columns: Readonly<Record<string, ColumnType>>;
}

export type EntityTableName = "clerk_users";
export type ChildTableName = "clerk_user_email_addresses";

/** Columns every mirrored entity table has besides its data columns. */
export const ENTITY_SYSTEM_COLUMNS = {
  id: "text",
  /** The data version: `updated_at` of the last applied payload (ms). 0 for a bare tombstone. */
  version: "bigint",
  /** When the object was deleted (the deletion event's time, ms); null while it exists. */
  deleted_at: "bigint",
} as const satisfies Record<string, ColumnType>;

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
    public_metadata: "json",
    private_metadata: "json",
    unsafe_metadata: "json",
    banned: "bool",
    locked: "bool",
    last_sign_in_at: "bigint",
    last_active_at: "bigint",
    created_at: "bigint",
    updated_at: "bigint",
    data: "json",
  },
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
};

export const CHILD_TABLES: Readonly<Record<ChildTableName, ChildTable>> = {
  clerk_user_email_addresses: USER_EMAIL_ADDRESSES,
};

/** Outcome recorded for a delivery id in `clerk_webhook_events.status`. */
export type DeliveryStatus = "applied" | "stale" | "ignored" | "failed";

/** What one HTTP delivery did: a status, or `duplicate` for a delivery id already processed. */
export type DeliveryOutcome = DeliveryStatus | "duplicate";

export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["applied", "stale", "ignored", "failed"];
