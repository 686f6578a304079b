/**
 * Backfill: every user, organization and membership Clerk's Backend API lists, written through
 * the same sync rules as webhooks (`applySnapshot` over `mapSnapshot`: the object's `updated_at`
 * is its version, tombstones hold).
 *
 * One run is one row of `clerk_sync_runs`. Each page of the API's walk is written in ONE store
 * transaction together with the run row's cursor and counts, so the checkpoint and the page's
 * rows commit or vanish together: after Ctrl-C or kill -9 the same backfill resumes after the
 * last committed page, skipping nothing and applying nothing twice.
 */
import type { Kysely } from "kysely";
import type { ClerkApiClient } from "../clerk-api/client.js";
import type { OffsetCursor, UsersCursor, WalkPage } from "../clerk-api/walk.js";
import { ClerkSyncError, isClerkSyncError } from "../core/errors.js";
import { type Mutation, mapSnapshot, type SnapshotKind } from "../core/mappers.js";
import type { SyncRunStatus } from "../core/schema.js";
import { insertRun } from "../store/runs.js";
import type { ClerkSyncDatabase } from "../store/schema/database.js";
import type { ClerkSyncStore } from "../store/store.js";

/** The object kinds a backfill reads, in the order `all` reads them. */
export const BACKFILL_KINDS = ["users", "organizations", "memberships"] as const;
export type BackfillKind = (typeof BACKFILL_KINDS)[number];

const SNAPSHOT_KIND: Record<BackfillKind, SnapshotKind> = {
  users: "user",
  organizations: "organization",
  memberships: "organization_membership",
};

/** What a backfill did to one kind's objects: each object read lands in exactly one count. */
export interface BackfillCounts {
  inserted: number;
  updated: number;
  unchanged: number;
  stale: number;
}

export interface BackfillOptions {
  store: ClerkSyncStore;
  client: ClerkApiClient;
  /** Kinds to read, in this order (default all three: users, organizations, memberships). */
  kinds?: readonly BackfillKind[];
  /** Objects per API page, 1–500 (default 500, the API's maximum). */
  pageSize?: number;
  /** Start over instead of resuming an unfinished run of the same kinds (which is then marked failed). */
  restart?: boolean;
  /**
   * Delete mode of the mirror (default soft). In hard mode a tombstoned row takes no snapshot
   * data at all, as with webhooks in that mode; pass what the receiver uses.
   */
  hardDelete?: boolean;
  /** Stops the run after the page being written commits; the run stays resumable. */
  signal?: AbortSignal;
  /** Called after every committed page, and when a kind starts. */
  onProgress?: (progress: BackfillProgress) => void;
  /** Clock of the run row (default Date.now). */
  now?: () => number;
}

export interface BackfillProgress {
  runId: string;
  kind: BackfillKind;
  /** Objects of `kind` written so far in this run (resumed runs included). */
  done: number;
  /** What the API counted for `kind` when the kind started (null if unknown). */
  total: number | null;
  counts: BackfillCounts;
  /** Pages committed by this process for `kind`. */
  pages: number;
}

export interface BackfillResult {
  runId: string;
  /** Whether an unfinished run was picked up. */
  resumed: boolean;
  /** `done`, or `aborted` when `signal` stopped it (resumable). */
  status: "done" | "aborted";
  counts: Partial<Record<BackfillKind, BackfillCounts>>;
  /** API requests this process sent, and 429s it waited out (from the client's stats). */
  requests: number;
  rateLimited: number;
}

type Cursor = UsersCursor | OffsetCursor;
type RunCounts = Partial<Record<BackfillKind, BackfillCounts & { total?: number | null }>>;

interface RunState {
  id: string;
  current: BackfillKind | null;
  cursor: Cursor | null;
  counts: RunCounts;
}

const zero = (): BackfillCounts => ({ inserted: 0, updated: 0, unchanged: 0, stale: 0 });
const sum = (c: BackfillCounts) => c.inserted + c.updated + c.unchanged + c.stale;

/** JSON columns: parsed on PostgreSQL, text elsewhere. */
function parseJson<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

function validate(options: BackfillOptions): { kinds: BackfillKind[]; pageSize: number } {
  const kinds = [...(options.kinds ?? BACKFILL_KINDS)];
  if (kinds.length === 0 || kinds.some((k) => !BACKFILL_KINDS.includes(k)) || new Set(kinds).size !== kinds.length) {
    throw new ClerkSyncError(
      "invalid_config",
      `kinds must be distinct values among ${BACKFILL_KINDS.join(", ")}, got ${JSON.stringify(options.kinds)}`,
    );
  }
  const pageSize = options.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 500) {
    throw new ClerkSyncError("invalid_config", `pageSize must be a whole number from 1 to 500, got ${pageSize}`);
  }
  return { kinds, pageSize };
}

/**
 * Reads every object of `kinds` from Clerk's Backend API and writes it through the sync rules,
 * a page per transaction with the run's checkpoint. Resumes an unfinished run of the same kinds.
 *
 * @example
 * const result = await backfill({ store, client: createClerkApiClient(), onProgress: console.log });
 */
export async function backfill(options: BackfillOptions): Promise<BackfillResult> {
  const { kinds, pageSize } = validate(options);
  const { store, client } = options;
  const now = options.now ?? Date.now;
  const hard = options.hardDelete ?? false;
  const startStats = client.stats();
  const objects = kinds.join(",");

  const { run, resumed } = await openRun(store, objects, kinds, options.restart ?? false, now);
  const stats = () => {
    const s = client.stats();
    return { requests: s.requests - startStats.requests, rateLimited: s.rateLimited - startStats.rateLimited };
  };
  const result = (status: BackfillResult["status"]): BackfillResult => ({
    runId: run.id,
    resumed,
    status,
    counts: Object.fromEntries(
      kinds.map((k) => {
        const { total: _total, ...counts } = run.counts[k] ?? { ...zero(), total: null };
        return [k, counts];
      }),
    ),
    ...stats(),
  });

  try {
    const startAt = run.current === null ? 0 : kinds.indexOf(run.current);
    for (const kind of kinds.slice(startAt)) {
      if (options.signal?.aborted) return result("aborted");
      const cursor = run.current === kind ? run.cursor : null;
      const entry = run.counts[kind] ?? { ...zero(), total: null };
      entry.total = await countOf(client, kind);
      run.counts[kind] = entry;
      run.current = kind;
      run.cursor = cursor;
      options.onProgress?.({
        runId: run.id,
        kind,
        done: sum(entry),
        total: entry.total,
        counts: { ...entry },
        pages: 0,
      });

      let pages = 0;
      for await (const page of readAhead(walk(client, kind, pageSize, cursor))) {
        // A page read after the stop was asked for is not written: the run resumes before it.
        if (options.signal?.aborted) return result("aborted");
        // One transaction for the page and its checkpoint (set-based on PostgreSQL and MySQL).
        // The checkpoint may run more than once (a page that fell back to row by row): its
        // counts start from the committed run each time.
        const { mutations, firsts } = pageMutations(kind, page.items as unknown as Record<string, unknown>[]);
        let counts = entry;
        await store.applySnapshots(mutations, {
          hard,
          checkpoint: async (outcomes, db) => {
            const pageCounts = zero();
            for (const first of firsts) pageCounts[outcomes[first] ?? "unchanged"]++;
            counts = { ...entry, ...add(entry, pageCounts) };
            await saveRun(db, run.id, {
              current: kind,
              cursor: page.cursor,
              counts: { ...run.counts, [kind]: counts },
              updated_at: now(),
            });
          },
        });
        Object.assign(entry, counts);
        run.cursor = page.cursor;
        pages++;
        options.onProgress?.({
          runId: run.id,
          kind,
          done: sum(entry),
          total: entry.total,
          counts: { ...entry },
          pages,
        });
      }
    }
    await store.transaction(async (tx) => {
      await saveRun(tx.db, run.id, {
        current: null,
        cursor: null,
        counts: run.counts,
        updated_at: now(),
        status: "done",
        finished_at: now(),
      });
    });
    return result("done");
  } catch (error) {
    await markFailed(store, run, error, now).catch(() => undefined);
    throw error;
  }
}

function add(a: BackfillCounts, b: BackfillCounts): BackfillCounts {
  return {
    inserted: a.inserted + b.inserted,
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
    stale: a.stale + b.stale,
  };
}

/**
 * A page's mutations (each API object's snapshot, through the version guard and the tombstone
 * rules) and, for each object, the index of its first mutation: an object counts as the outcome
 * of its own row.
 */
function pageMutations(kind: BackfillKind, items: readonly Record<string, unknown>[]) {
  const mutations: Mutation[] = [];
  const firsts: number[] = [];
  for (const item of items) {
    firsts.push(mutations.length);
    mutations.push(...mapSnapshot(SNAPSHOT_KIND[kind], item));
  }
  return { mutations, firsts };
}

function walk(
  client: ClerkApiClient,
  kind: BackfillKind,
  pageSize: number,
  cursor: Cursor | null,
): AsyncGenerator<WalkPage<unknown, Cursor>> {
  switch (kind) {
    case "users":
      return client.walkUsers({ pageSize, ...(cursor ? { cursor: cursor as UsersCursor } : {}) });
    case "organizations":
      return client.walkOrganizations({ pageSize, ...(cursor ? { cursor: cursor as OffsetCursor } : {}) });
    case "memberships":
      return client.walkMemberships({ pageSize, ...(cursor ? { cursor: cursor as OffsetCursor } : {}) });
  }
}

/**
 * The walk's pages, the next one requested while the caller writes the current one, so that the
 * API's answer and the database's commit overlap. Only the order of writes matters for resuming:
 * a page read ahead and not written (kill, abort, failure) is simply read again from the checkpoint.
 */
async function* readAhead<T>(pages: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = pages.next();
  try {
    for (;;) {
      const step = await next;
      if (step.done) return;
      next = pages.next();
      // Awaited on the next turn; until then a failure must not count as unhandled.
      next.catch(() => undefined);
      yield step.value;
    }
  } finally {
    await next.catch(() => undefined);
    await pages.return(undefined);
  }
}

/** How many objects of `kind` the API holds now (one request), for progress. */
async function countOf(client: ClerkApiClient, kind: BackfillKind): Promise<number> {
  switch (kind) {
    case "users":
      return client.countUsers();
    case "organizations":
      return (await client.listOrganizationsPage({ limit: 1 })).total_count;
    case "memberships":
      return (await client.listMembershipsPage({ limit: 1 })).total_count;
  }
}

async function openRun(
  store: ClerkSyncStore,
  objects: string,
  kinds: BackfillKind[],
  restart: boolean,
  now: () => number,
): Promise<{ run: RunState; resumed: boolean }> {
  return store.transaction(async (tx) => {
    // The latest run of the same kinds: unless it finished, this backfill carries it on (a run
    // that failed resumes from its last committed page as well as one that was killed).
    const latest = await tx.db
      .selectFrom("clerk_sync_runs")
      .selectAll()
      .where("kind", "=", "backfill")
      .where("objects", "=", objects)
      .orderBy("started_at", "desc")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    const unfinished = latest !== undefined && latest.status !== "done";
    if (unfinished && !restart) {
      await saveRun(tx.db, latest.id, { status: "running", updated_at: now(), error_code: null, error_message: null });
      const current = latest.current as BackfillKind | null;
      return {
        resumed: true,
        run: {
          id: latest.id,
          current: current !== null && kinds.includes(current) ? current : null,
          cursor: parseJson<Cursor>(latest.cursor),
          counts: parseJson<RunCounts>(latest.counts) ?? {},
        },
      };
    }
    if (unfinished) {
      await saveRun(tx.db, latest.id, {
        status: "failed",
        updated_at: now(),
        finished_at: now(),
        error_code: "restarted",
        error_message: "superseded by a restarted backfill",
      });
    }
    const id = await insertRun(tx.db, { kind: "backfill", objects, at: now() });
    return { resumed: false, run: { id, current: null, cursor: null, counts: {} } };
  });
}

interface RunUpdate {
  current?: BackfillKind | null;
  cursor?: Cursor | null;
  counts?: RunCounts;
  status?: SyncRunStatus;
  updated_at: number;
  finished_at?: number;
  error_code?: string | null;
  error_message?: string | null;
}

async function saveRun(db: Kysely<ClerkSyncDatabase>, id: string, update: RunUpdate): Promise<void> {
  const { cursor, counts, ...rest } = update;
  await db
    .updateTable("clerk_sync_runs")
    .set({
      ...rest,
      ...(cursor !== undefined ? { cursor: cursor === null ? null : JSON.stringify(cursor) } : {}),
      ...(counts !== undefined ? { counts: JSON.stringify(counts) } : {}),
    })
    .where("id", "=", id)
    .execute();
}

async function markFailed(store: ClerkSyncStore, run: RunState, error: unknown, now: () => number): Promise<void> {
  // The cursor and counts stay those of the last committed page: the next backfill of the same
  // kinds resumes from there (with `restart`, it starts over).
  await store.transaction(async (tx) => {
    await saveRun(tx.db, run.id, {
      status: "failed",
      updated_at: now(),
      finished_at: now(),
      error_code: isClerkSyncError(error) ? error.code : "unexpected",
      error_message: error instanceof Error ? error.message.slice(0, 2000) : String(error),
    });
  });
}
