import type { Kysely } from "kysely";
import { mapEvent } from "../core/mappers.js";
import type { EntityTableName } from "../core/schema.js";
import { parseEvent } from "../core/validate.js";
import {
  type ClerkOrganization,
  type ClerkUser,
  listOrganizationMembers,
  listUserOrganizations,
  normalizeRow,
  type OrganizationMember,
  type Queryable,
  type UserOrganization,
} from "./queries.js";
import type { ClerkSyncDatabase } from "./schema/database.js";

/**
 * The dashboard's reads that are not the delivery log's (that one, with its keyset pages, is the
 * attempts read API's): the health counters, users and organizations searched by their indexed
 * columns, the runs of backfill/reconcile, and the rows a delivery touched. Every query here reads
 * through an index (test/dashboard.queries.test.ts checks each plan with EXPLAIN).
 */

/** Apply latency of recent attempts, ms; null when no attempt carries a duration. */
export interface ApplyLatency {
  p50: number | null;
  p95: number | null;
  max: number | null;
  /** Attempts measured. */
  samples: number;
}

/** Attempts sampled at most for the latency figures (the newest deliveries' first). */
const LATENCY_SAMPLE = 2_000;

/** The query {@link applyLatency} runs (exported for the EXPLAIN test). */
export function applyLatencyQuery(db: Kysely<ClerkSyncDatabase>, since: number) {
  // A derived table: MySQL refuses LIMIT inside an IN subquery.
  const recent = db
    .selectFrom("clerk_webhook_events")
    .select("svix_id")
    .where("first_received_at", ">=", since)
    .orderBy("first_received_at", "desc")
    .limit(LATENCY_SAMPLE);
  // A join from the recent ids, so each attempt is read by primary key (an IN subquery made
  // MariaDB scan the attempts).
  return db
    .selectFrom(recent.as("r"))
    .innerJoin("clerk_webhook_attempts as a", "a.svix_id", "r.svix_id")
    .select("a.duration_ms")
    .where("a.duration_ms", "is not", null);
}

/**
 * Apply latency (`duration_ms` of `clerk_webhook_attempts`) of the deliveries first received
 * since `since`: percentiles of at most the newest {@link LATENCY_SAMPLE} deliveries' attempts.
 * Reads the events' `first_received_at` index, then each attempt by primary key.
 * (A thin query of the dashboard's; to be merged into store/delivery-log.ts.)
 */
export async function applyLatency(db: Kysely<ClerkSyncDatabase>, since: number): Promise<ApplyLatency> {
  const rows = await applyLatencyQuery(db, since).execute();
  const values = rows.map((r) => Number(r.duration_ms)).sort((x, y) => x - y);
  const at = (q: number) =>
    values.length === 0 ? null : (values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? null);
  return { p50: at(0.5), p95: at(0.95), max: values.at(-1) ?? null, samples: values.length };
}

/** Results of a search, at most `limit`. */
const SEARCH_LIMIT = 50;

/**
 * Users by Clerk id, external id, username or any email address (exact: each an indexed column);
 * with an empty query, the newest ids. Deleted users (tombstones) are included and shown as such.
 *
 * @example
 * const users = await searchUsers(store, "jane@example.com");
 */
export async function searchUsers(store: Queryable, query: string): Promise<ClerkUser[]> {
  const seen = new Map<string, Record<string, unknown>>();
  for (const probe of userSearchQueries(store.db, query)) {
    for (const row of await probe.execute()) seen.set(row.id, row);
  }
  return [...seen.values()].map((row) => normalizeRow<ClerkUser>(row, store.dialect));
}

/**
 * The queries {@link searchUsers} runs for a search text: one probe per indexed column (an OR of
 * them may not use every index on every database). Exported for the EXPLAIN test.
 */
export function userSearchQueries(db: Kysely<ClerkSyncDatabase>, query: string) {
  const q = query.trim();
  const base = () => db.selectFrom("clerk_users").selectAll().limit(SEARCH_LIMIT);
  if (q === "") return [base().orderBy("id", "desc")];
  if (q.includes("@")) {
    // A join driven by the address's index (an IN subquery made MariaDB scan the users).
    return [
      db
        .selectFrom("clerk_user_email_addresses as e")
        .innerJoin("clerk_users as u", "u.id", "e.user_id")
        .selectAll("u")
        .where("e.email_address", "=", q.toLowerCase())
        .limit(SEARCH_LIMIT),
    ];
  }
  return (["id", "external_id", "username"] as const).map((column) => base().where(column, "=", q));
}

/**
 * Organizations by Clerk id or slug (exact); with an empty query, the newest ids.
 *
 * @example
 * const orgs = await searchOrganizations(store, "acme");
 */
export async function searchOrganizations(store: Queryable, query: string): Promise<ClerkOrganization[]> {
  const seen = new Map<string, Record<string, unknown>>();
  for (const probe of organizationSearchQueries(store.db, query)) {
    for (const row of await probe.execute()) seen.set(row.id, row);
  }
  return [...seen.values()].map((row) => normalizeRow<ClerkOrganization>(row, store.dialect));
}

/** The queries {@link searchOrganizations} runs (exported for the EXPLAIN test). */
export function organizationSearchQueries(db: Kysely<ClerkSyncDatabase>, query: string) {
  const q = query.trim();
  const base = () => db.selectFrom("clerk_organizations").selectAll().limit(SEARCH_LIMIT);
  if (q === "") return [base().orderBy("id", "desc")];
  return (["id", "slug"] as const).map((column) => base().where(column, "=", q));
}

/** A user with their email addresses and organizations, deleted or not. */
export interface UserDetail {
  user: ClerkUser;
  emails: { email_address: string; verification_status: string | null; is_primary: boolean }[];
  organizations: UserOrganization[];
}

/** One user for the dashboard's user page; undefined when there is no row (not even a tombstone). */
export async function getUserDetail(store: Queryable, id: string): Promise<UserDetail | undefined> {
  const row = await store.db.selectFrom("clerk_users").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) return undefined;
  const emails = await store.db
    .selectFrom("clerk_user_email_addresses")
    .select(["email_address", "verification_status", "is_primary"])
    .where("user_id", "=", id)
    .execute();
  return {
    user: normalizeRow<ClerkUser>(row, store.dialect),
    emails: emails.map((e) => ({ ...e, is_primary: Boolean(Number(e.is_primary)) })),
    organizations: await listUserOrganizations(store, id, { includeDeleted: true }),
  };
}

/** An organization with its members, deleted or not. */
export interface OrganizationDetail {
  organization: ClerkOrganization;
  members: OrganizationMember[];
}

/** One organization for the dashboard's organization page. */
export async function getOrganizationDetail(store: Queryable, id: string): Promise<OrganizationDetail | undefined> {
  const row = await store.db.selectFrom("clerk_organizations").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) return undefined;
  return {
    organization: normalizeRow<ClerkOrganization>(row, store.dialect),
    members: await listOrganizationMembers(store, id, { includeDeleted: true }),
  };
}

/** A backfill/reconcile run as the dashboard lists it. */
export interface SyncRunRow {
  id: string;
  kind: string;
  objects: string;
  status: string;
  current: string | null;
  counts: Record<string, Record<string, number | null>>;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
  error_code: string | null;
  error_message: string | null;
}

/**
 * The latest runs of writes from the Backend API, newest first (the `started_at` index).
 *
 * @example
 * const runs = await listSyncRuns(store.db);
 */
export async function listSyncRuns(db: Kysely<ClerkSyncDatabase>, limit = 50): Promise<SyncRunRow[]> {
  const rows = await syncRunsQuery(db, limit).execute();
  return rows.map((r) => ({
    ...r,
    counts: (typeof r.counts === "string" ? JSON.parse(r.counts) : r.counts) as SyncRunRow["counts"],
    started_at: Number(r.started_at),
    updated_at: Number(r.updated_at),
    finished_at: r.finished_at === null ? null : Number(r.finished_at),
  }));
}

/** The query {@link listSyncRuns} runs (exported for the EXPLAIN test). */
export function syncRunsQuery(db: Kysely<ClerkSyncDatabase>, limit = 50) {
  return db
    .selectFrom("clerk_sync_runs")
    .select([
      "id",
      "kind",
      "objects",
      "status",
      "current",
      "counts",
      "started_at",
      "updated_at",
      "finished_at",
      "error_code",
      "error_message",
    ])
    .orderBy("started_at", "desc")
    .limit(limit);
}

/** A row a delivery's payload maps to, as it is stored now (null: no row, e.g. never applied). */
export interface TouchedRow {
  table: EntityTableName;
  id: string;
  row: Record<string, unknown> | null;
}

/**
 * The rows a delivery touched: its payload mapped as the engine maps it (`mapEvent`), each
 * mutation's row read by primary key. They show the state now, which a newer delivery may have
 * changed since. Empty for a payload that does not parse or a type that maps to nothing.
 */
export async function rowsTouchedBy(store: Queryable, payload: string): Promise<TouchedRow[]> {
  let mutations: ReturnType<typeof mapEvent>;
  try {
    const parsed = parseEvent(payload);
    if (!parsed.known) return [];
    mutations = mapEvent(parsed.event);
  } catch {
    return [];
  }
  const touched: TouchedRow[] = [];
  for (const m of mutations) {
    const row = await store.db
      .selectFrom(m.table as "clerk_users")
      .selectAll()
      .where("id", "=", m.id)
      .executeTakeFirst();
    touched.push({ table: m.table, id: m.id, row: row ? normalizeRow(row, store.dialect) : null });
  }
  return touched;
}
