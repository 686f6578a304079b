import type { ColumnType, Generated } from "kysely";
import type { ColumnSpec, EntityTableName, TABLES, TableName, TableSpec } from "../../core/schema.js";

/**
 * The tables clerk-sync maintains, typed for Kysely queries. Times are epoch milliseconds.
 * What the drivers hand back differs (docs/databases.md): JSON columns are text on SQLite and
 * MySQL/MariaDB (through the pool clerk-sync opens) and parsed values on PostgreSQL; booleans
 * are 0/1 on SQLite and MySQL; bigint columns are numbers, except through your own `pg` pool,
 * which returns them as strings. The query helpers and `normalizeRow` smooth all of it over.
 *
 * Derived from the table contract (`core/schema.ts`): a column added there appears here.
 */
export interface ClerkSyncDatabase extends DatabaseOf<typeof TABLES> {}

type Json = unknown;
type Bool = boolean | number;
type Millis = ColumnType<number, number, number>;

/** A logical type's value in a query (`bigint`: times and versions in ms, counts). */
interface Values {
  text: string;
  bigint: Millis;
  bool: Bool;
  json: Json;
}

/** A logical type's value where the database fills it in. */
interface Plain {
  text: string;
  bigint: number;
  bool: Bool;
  json: Json;
}

/** A column's Kysely type: its value, `| null` when nullable, `Generated` when the database fills it. */
export type ColumnOf<C extends ColumnSpec> = C extends { readonly generated: true }
  ? Generated<Plain[C["type"]]>
  : C extends { readonly nullable: true }
    ? Values[C["type"]] | null
    : Values[C["type"]];

/** A table's Kysely row type, one property per column of its spec. */
export type TableOf<T extends TableSpec> = { -readonly [K in keyof T["columns"]]: ColumnOf<T["columns"][K]> };

/** A Kysely database type: one property per table of the contract. */
export type DatabaseOf<T extends { readonly [N in TableName]: TableSpec }> = { [N in TableName]: TableOf<T[N]> };

type Row<N extends TableName> = TableOf<(typeof TABLES)[N]>;
type EntityRows = Row<EntityTableName>;

/** Columns every mirrored entity table has. */
export interface EntityColumns extends Pick<EntityRows, keyof EntityRows> {}

export interface ClerkUsersTable extends Row<"clerk_users"> {}
export interface ClerkUserEmailAddressesTable extends Row<"clerk_user_email_addresses"> {}
export interface ClerkOrganizationsTable extends Row<"clerk_organizations"> {}
export interface ClerkOrganizationMembershipsTable extends Row<"clerk_organization_memberships"> {}
export interface ClerkOrganizationInvitationsTable extends Row<"clerk_organization_invitations"> {}
export interface ClerkOrganizationDomainsTable extends Row<"clerk_organization_domains"> {}
export interface ClerkSessionsTable extends Row<"clerk_sessions"> {}
export interface ClerkRolesTable extends Row<"clerk_roles"> {}
export interface ClerkPermissionsTable extends Row<"clerk_permissions"> {}
export interface ClerkWaitlistEntriesTable extends Row<"clerk_waitlist_entries"> {}
export interface ClerkObjectsTable extends Row<"clerk_objects"> {}
export interface ClerkWebhookEventsTable extends Row<"clerk_webhook_events"> {}
export interface ClerkSyncRunsTable extends Row<"clerk_sync_runs"> {}
export interface ClerkWebhookAttemptsTable extends Row<"clerk_webhook_attempts"> {}
export interface ClerkWebhookRejectionsTable extends Row<"clerk_webhook_rejections"> {}
