/**
 * Reconciliation: compares the mirror with Clerk's Backend API and, with `apply`, repairs what
 * differs through the sync rules (`applySnapshot`, `applyMutation`), so it is safe while webhooks
 * keep arriving. A row is treated as deleted in Clerk only after a per-object read answers 404:
 * a listing is not a point in time (users sign up while it is taken), so an id missing from it
 * proves nothing.
 */
import type { ClerkApiClient } from "../clerk-api/client.js";
import { isClerkSyncError } from "../core/errors.js";
import type { OrganizationMembershipJSON } from "../core/events.js";
import { type Mutation, mapSnapshot, type SnapshotKind } from "../core/mappers.js";
import type { EntityTableName } from "../core/schema.js";
import { applyMutation, applySnapshot } from "../core/sync-rules.js";
import { insertRun } from "../store/runs.js";
import type { ClerkSyncStore } from "../store/store.js";

/** The kinds of object reconciliation compares, in the order `all` runs them. */
export const RECONCILE_KINDS = ["users", "organizations", "memberships"] as const;
export type ReconcileKind = (typeof RECONCILE_KINDS)[number];

/**
 * One difference between the mirror and Clerk. `missing`: Clerk has the object, the mirror has
 * no row; `stale`: the mirror's row is older than Clerk's object; `deleted`: the mirror has a
 * live row for an object Clerk answers 404 for.
 */
export interface Difference {
  readonly kind: ReconcileKind;
  readonly id: string;
  readonly problem: "missing" | "stale" | "deleted";
  /** The mirror's version (ms), or null without a row. */
  readonly mirrorVersion: number | null;
  /** Clerk's `updated_at` (ms), or null when Clerk has no such object. */
  readonly clerkVersion: number | null;
  /** With `apply`: what the repair did (a concurrent webhook may have repaired it first: `stale`). */
  repaired?: "inserted" | "updated" | "unchanged" | "stale" | "tombstoned" | "already-deleted";
}

/** Counts of one kind. */
export interface KindSummary {
  readonly kind: ReconcileKind;
  /** Objects Clerk listed. */
  listed: number;
  /** Live rows of the mirror not in the listing, read one by one from the API. */
  confirmed: number;
  missing: number;
  stale: number;
  deleted: number;
}

export interface ReconcileReport {
  /** This reconciliation's row in `clerk_sync_runs` (kind `reconcile`), where its counts are kept. */
  readonly runId: string;
  readonly applied: boolean;
  readonly kinds: KindSummary[];
  readonly differences: Difference[];
  /** Requests sent to the Backend API, and 429s waited out. */
  readonly requests: number;
  readonly rateLimited: number;
}

export interface ReconcileOptions {
  store: ClerkSyncStore;
  client: ClerkApiClient;
  kinds?: readonly ReconcileKind[];
  /** Repair the differences (default false: report only). */
  apply?: boolean;
  /** How a confirmed deletion is stored (the receiver's delete mode). Default soft. */
  hard?: boolean;
  /** The clock, epoch ms: a confirmed deletion's tombstone version. Default `Date.now`. */
  now?: () => number;
  /** Called after each page and confirmation, for progress output. */
  onProgress?: (kind: ReconcileKind, summary: Readonly<KindSummary>) => void;
}

/** Objects compared in one query and repaired in one transaction. */
const PAGE = 500;

interface KindAccess {
  readonly table: EntityTableName;
  readonly snapshot: SnapshotKind;
  pages(client: ClerkApiClient): AsyncIterable<readonly Record<string, unknown>[]>;
  /** The object, null when Clerk answers 404 for it. */
  get(client: ClerkApiClient, row: MirrorRow, cache: Map<string, unknown>): Promise<Record<string, unknown> | null>;
}

interface MirrorRow {
  id: string;
  version: number;
  deleted_at: number | null;
  organization_id?: string | null;
}

const ACCESS: Record<ReconcileKind, KindAccess> = {
  users: {
    table: "clerk_users",
    snapshot: "user",
    pages: (client) => itemsOf(client.walkUsers({ pageSize: PAGE })),
    get: async (client, row) => asRecord(await client.getUser(row.id)),
  },
  organizations: {
    table: "clerk_organizations",
    snapshot: "organization",
    pages: (client) => itemsOf(client.walkOrganizations({ pageSize: PAGE })),
    get: async (client, row) => asRecord(await client.getOrganization(row.id)),
  },
  memberships: {
    table: "clerk_organization_memberships",
    snapshot: "organization_membership",
    pages: (client) => itemsOf(client.walkMemberships({ pageSize: PAGE })),
    // Clerk has no read of one membership: its organization's list says whether it still exists.
    get: async (client, row, cache) => {
      const organizationId = row.organization_id;
      if (!organizationId) return null;
      let members = cache.get(organizationId) as Map<string, OrganizationMembershipJSON> | undefined;
      if (members === undefined) {
        members = new Map();
        if ((await client.getOrganization(organizationId)) !== null) {
          for await (const page of client.walkMemberships({ pageSize: PAGE, organizationId })) {
            for (const m of page.items) members.set(m.id, m);
          }
        }
        cache.set(organizationId, members);
      }
      return asRecord(members.get(row.id) ?? null);
    },
  },
};

async function* itemsOf<T>(
  walk: AsyncIterable<{ items: readonly T[] }>,
): AsyncIterable<readonly Record<string, unknown>[]> {
  for await (const page of walk) yield page.items as readonly Record<string, unknown>[];
}

const asRecord = (value: object | null): Record<string, unknown> | null => value as Record<string, unknown> | null;

/**
 * Compares the mirror with Clerk, kind by kind, and with `apply` repairs each difference through
 * the sync rules.
 *
 * @example
 * const report = await reconcile({ store, client: createClerkApiClient(), apply: false });
 * for (const d of report.differences) console.log(d.kind, d.id, d.problem);
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const { store, client } = options;
  const now = options.now ?? Date.now;
  const differences: Difference[] = [];
  const kinds: KindSummary[] = [];
  const requested = options.kinds ?? RECONCILE_KINDS;
  // Recorded as a run, so that `status` (and the dashboard) show reconciliations beside backfills.
  const runId = await insertRun(store.db, { kind: "reconcile", objects: requested.join(","), at: now() });
  const finish = (status: "done" | "failed", error?: unknown) =>
    store.db
      .updateTable("clerk_sync_runs")
      .set({
        status,
        counts: JSON.stringify(Object.fromEntries(kinds.map(({ kind, ...counts }) => [kind, counts]))),
        updated_at: now(),
        finished_at: now(),
        error_code: error === undefined ? null : isClerkSyncError(error) ? error.code : "unexpected",
        error_message:
          error === undefined ? null : String(error instanceof Error ? error.message : error).slice(0, 2000),
      })
      .where("id", "=", runId)
      .execute();
  try {
    await compareKinds(options, requested, kinds, differences, now);
  } catch (error) {
    await finish("failed", error).catch(() => undefined);
    throw error;
  }
  await finish("done");
  const stats = client.stats();
  return {
    runId,
    applied: options.apply ?? false,
    kinds,
    differences,
    requests: stats.requests,
    rateLimited: stats.rateLimited,
  };
}

/** Compares (and with `apply` repairs) each kind in turn, filling `kinds` and `differences`. */
async function compareKinds(
  options: ReconcileOptions,
  requested: readonly ReconcileKind[],
  kinds: KindSummary[],
  differences: Difference[],
  now: () => number,
): Promise<void> {
  const { store, client } = options;
  for (const kind of requested) {
    const access = ACCESS[kind];
    const summary: KindSummary = { kind, listed: 0, confirmed: 0, missing: 0, stale: 0, deleted: 0 };
    kinds.push(summary);
    const seen = new Set<string>();
    const found = (difference: Difference) => {
      differences.push(difference);
      summary[difference.problem]++;
    };

    // 1. Every object Clerk lists, against the mirror's row of the same id.
    for await (const items of access.pages(client)) {
      summary.listed += items.length;
      const rows = await mirrorRows(
        store,
        access.table,
        items.map((item) => String(item.id)),
      );
      const repairs: { difference: Difference; mutation: Mutation }[] = [];
      for (const item of items) {
        const id = String(item.id);
        seen.add(id);
        const difference = compare(kind, id, rows.get(id), item);
        if (difference === undefined) continue;
        found(difference);
        const [mutation] = mapSnapshot(access.snapshot, item);
        if (mutation) repairs.push({ difference, mutation });
      }
      if (options.apply && repairs.length > 0) await repairWith(store, repairs, options.hard ?? false);
      options.onProgress?.(kind, summary);
    }

    // 2. Live rows the listing did not show: deleted in Clerk only if a read of each says 404.
    const cache = new Map<string, unknown>();
    for await (const rows of liveRows(store, access.table)) {
      const repairs: { difference: Difference; mutation: Mutation }[] = [];
      for (const row of rows) {
        if (seen.has(row.id)) continue;
        summary.confirmed++;
        const object = await access.get(client, row, cache);
        const difference: Difference | undefined =
          object === null
            ? { kind, id: row.id, problem: "deleted", mirrorVersion: row.version, clerkVersion: null }
            : compare(kind, row.id, row, object);
        if (difference === undefined) continue;
        found(difference);
        const mutation =
          object === null
            ? ({
                op: "delete",
                table: access.table,
                id: row.id,
                version: now(),
                children: deletedChildren(access.table),
              } as const)
            : mapSnapshot(access.snapshot, object)[0];
        if (mutation) repairs.push({ difference, mutation });
      }
      if (options.apply && repairs.length > 0) await repairWith(store, repairs, options.hard ?? false);
      options.onProgress?.(kind, summary);
    }
  }
}

/** What differs between a mirror row (or none) and Clerk's object, if anything. */
function compare(
  kind: ReconcileKind,
  id: string,
  row: MirrorRow | undefined,
  object: Record<string, unknown>,
): Difference | undefined {
  const clerkVersion = typeof object.updated_at === "number" ? object.updated_at : null;
  if (row === undefined) return { kind, id, problem: "missing", mirrorVersion: null, clerkVersion };
  // A tombstone is final (Clerk never brings an id back); a newer row came from a webhook.
  if (row.deleted_at !== null || clerkVersion === null || row.version >= clerkVersion) return undefined;
  return { kind, id, problem: "stale", mirrorVersion: row.version, clerkVersion };
}

const deletedChildren = (table: EntityTableName) =>
  table === "clerk_users" ? (["clerk_user_email_addresses"] as const) : ([] as const);

/** Repairs one page's differences in one transaction, through the sync rules. */
async function repairWith(
  store: ClerkSyncStore,
  repairs: readonly { difference: Difference; mutation: Mutation }[],
  hard: boolean,
): Promise<void> {
  const outcomes = await store.transaction(async (tx) => {
    const done: NonNullable<Difference["repaired"]>[] = [];
    for (const { mutation } of repairs) {
      if (mutation.op === "delete") {
        done.push((await applyMutation(tx, mutation, hard)) === "applied" ? "tombstoned" : "already-deleted");
      } else {
        done.push(await applySnapshot(tx, mutation, hard));
      }
    }
    return done;
  });
  repairs.forEach(({ difference }, i) => {
    difference.repaired = outcomes[i];
  });
}

/** The mirror's rows of these ids. */
async function mirrorRows(store: ClerkSyncStore, table: EntityTableName, ids: readonly string[]) {
  const rows = new Map<string, MirrorRow>();
  if (ids.length === 0) return rows;
  const found = await store.db
    .selectFrom(table as "clerk_organization_memberships")
    .select(["id", "version", "deleted_at"])
    .where("id", "in", ids)
    .execute();
  for (const r of found)
    rows.set(r.id, { id: r.id, version: Number(r.version), deleted_at: nullableNumber(r.deleted_at) });
  return rows;
}

/** The mirror's live rows, a page at a time in id order (keyset: new rows do not shift the pages). */
async function* liveRows(store: ClerkSyncStore, table: EntityTableName): AsyncIterable<MirrorRow[]> {
  const memberships = table === "clerk_organization_memberships";
  let after = "";
  for (;;) {
    const page = await store.db
      .selectFrom(table as "clerk_organization_memberships")
      .select(["id", "version", "deleted_at", ...(memberships ? (["organization_id"] as const) : [])])
      .where("deleted_at", "is", null)
      .where("id", ">", after)
      .orderBy("id")
      .limit(PAGE)
      .execute();
    if (page.length === 0) return;
    yield page.map((r) => ({
      id: r.id,
      version: Number(r.version),
      deleted_at: nullableNumber(r.deleted_at),
      organization_id: (r as { organization_id?: string | null }).organization_id ?? null,
    }));
    after = page[page.length - 1]?.id ?? after;
    if (page.length < PAGE) return;
  }
}

const nullableNumber = (value: unknown): number | null => (value == null ? null : Number(value));
