import type { Kysely, Selectable } from "kysely";
import { CHILD_TABLES, type ColumnType, ENTITY_SYSTEM_COLUMNS, ENTITY_TABLES } from "../core/schema.js";
import type { DialectSpec } from "./dialect.js";
import type {
  ClerkOrganizationMembershipsTable,
  ClerkOrganizationsTable,
  ClerkSyncDatabase,
  ClerkUsersTable,
} from "./schema/database.js";

/** What the queries need of a store. */
export interface Queryable {
  readonly db: Kysely<ClerkSyncDatabase>;
  readonly dialect: DialectSpec;
}

export interface QueryOptions {
  /** Include deleted rows (tombstones). Default false. */
  includeDeleted?: boolean;
}

/** A `clerk_users` row with JSON parsed, booleans as booleans and times as numbers. */
export type ClerkUser = Omit<Selectable<ClerkUsersTable>, "banned" | "locked"> & {
  banned: boolean | null;
  locked: boolean | null;
};
/** A `clerk_organizations` row, normalised likewise. */
export type ClerkOrganization = Omit<Selectable<ClerkOrganizationsTable>, "admin_delete_enabled"> & {
  admin_delete_enabled: boolean | null;
};
/** A `clerk_organization_memberships` row, normalised likewise. */
export type ClerkMembership = Selectable<ClerkOrganizationMembershipsTable>;

const COLUMN_TYPES: Record<string, ColumnType> = { ...ENTITY_SYSTEM_COLUMNS };
for (const table of [...Object.values(ENTITY_TABLES), ...Object.values(CHILD_TABLES)]) {
  Object.assign(COLUMN_TYPES, table.columns);
}

/**
 * Normalises a row read from any dialect: JSON text parsed (SQLite), 0/1 to booleans
 * (SQLite, MySQL), bigint strings to numbers (PostgreSQL).
 */
export function normalizeRow<T>(row: Record<string, unknown>, dialect: DialectSpec): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    const type = COLUMN_TYPES[key];
    if (value === null || value === undefined || type === undefined) out[key] = value ?? null;
    else if (type === "json")
      out[key] = typeof value === "string" && !dialect.types.parsesJson ? JSON.parse(value) : value;
    else if (type === "bool") out[key] = Boolean(Number(value));
    else if (type === "bigint") out[key] = Number(value);
    else out[key] = value;
  }
  return out as T;
}

/**
 * A user by Clerk id.
 *
 * @example
 * const user = await findUserById(store, "user_2g7np7Hrk0SN6kj5EDMLDaKNL0S");
 */
export async function findUserById(
  store: Queryable,
  id: string,
  options: QueryOptions = {},
): Promise<ClerkUser | undefined> {
  let query = store.db.selectFrom("clerk_users").selectAll().where("id", "=", id);
  if (!options.includeDeleted) query = query.where("deleted_at", "is", null);
  const row = await query.executeTakeFirst();
  return row && normalizeRow<ClerkUser>(row, store.dialect);
}

/**
 * A user by any of their email addresses (not only the primary one). Clerk stores addresses
 * lower-cased; the lookup lower-cases its input.
 *
 * @example
 * const user = await findUserByEmail(store, "jane@example.com");
 */
export async function findUserByEmail(
  store: Queryable,
  email: string,
  options: QueryOptions = {},
): Promise<ClerkUser | undefined> {
  let query = store.db
    .selectFrom("clerk_users as u")
    .innerJoin("clerk_user_email_addresses as e", "e.user_id", "u.id")
    .selectAll("u")
    .where("e.email_address", "=", email.trim().toLowerCase())
    .orderBy("u.deleted_at", "desc")
    .limit(1);
  if (!options.includeDeleted) query = query.where("u.deleted_at", "is", null);
  const row = await query.executeTakeFirst();
  return row && normalizeRow<ClerkUser>(row, store.dialect);
}

/** A member of an organization: the membership and the user row when it is synced. */
export interface OrganizationMember {
  membership: ClerkMembership;
  user: ClerkUser | null;
}

/**
 * The members of an organization, oldest membership first, with their users when synced.
 *
 * @example
 * for (const { membership, user } of await listOrganizationMembers(store, "org_123")) …
 */
export async function listOrganizationMembers(
  store: Queryable,
  organizationId: string,
  options: QueryOptions = {},
): Promise<OrganizationMember[]> {
  let query = store.db
    .selectFrom("clerk_organization_memberships")
    .selectAll()
    .where("organization_id", "=", organizationId)
    .orderBy("created_at")
    .orderBy("id");
  if (!options.includeDeleted) query = query.where("deleted_at", "is", null);
  const memberships = (await query.execute()).map((r) => normalizeRow<ClerkMembership>(r, store.dialect));
  const userIds = [...new Set(memberships.map((m) => m.user_id).filter((id): id is string => id !== null))];
  const users = new Map<string, ClerkUser>();
  if (userIds.length > 0) {
    let userQuery = store.db.selectFrom("clerk_users").selectAll().where("id", "in", userIds);
    if (!options.includeDeleted) userQuery = userQuery.where("deleted_at", "is", null);
    for (const row of await userQuery.execute()) users.set(row.id, normalizeRow<ClerkUser>(row, store.dialect));
  }
  return memberships.map((membership) => ({ membership, user: users.get(membership.user_id ?? "") ?? null }));
}

/** An organization a user belongs to, with the membership (role, permissions). */
export interface UserOrganization {
  organization: ClerkOrganization | null;
  membership: ClerkMembership;
}

/**
 * The organizations a user is a member of, with their role in each.
 *
 * @example
 * const orgs = await listUserOrganizations(store, "user_123");
 */
export async function listUserOrganizations(
  store: Queryable,
  userId: string,
  options: QueryOptions = {},
): Promise<UserOrganization[]> {
  let query = store.db
    .selectFrom("clerk_organization_memberships")
    .selectAll()
    .where("user_id", "=", userId)
    .orderBy("created_at")
    .orderBy("id");
  if (!options.includeDeleted) query = query.where("deleted_at", "is", null);
  const memberships = (await query.execute()).map((r) => normalizeRow<ClerkMembership>(r, store.dialect));
  const orgIds = [...new Set(memberships.map((m) => m.organization_id).filter((id): id is string => id !== null))];
  const orgs = new Map<string, ClerkOrganization>();
  if (orgIds.length > 0) {
    let orgQuery = store.db.selectFrom("clerk_organizations").selectAll().where("id", "in", orgIds);
    if (!options.includeDeleted) orgQuery = orgQuery.where("deleted_at", "is", null);
    for (const row of await orgQuery.execute()) orgs.set(row.id, normalizeRow<ClerkOrganization>(row, store.dialect));
  }
  // A membership may arrive before its organization: it is listed with organization null.
  return memberships.map((membership) => ({
    membership,
    organization: orgs.get(membership.organization_id ?? "") ?? null,
  }));
}
