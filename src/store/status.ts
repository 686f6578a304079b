import type { Kysely } from "kysely";
import {
  CHILD_TABLES,
  type ChildTableName,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  ENTITY_TABLES,
  type EntityTableName,
} from "../core/schema.js";
import type { ClerkSyncDatabase } from "./schema/database.js";

export interface SyncStatusReport {
  tables: { table: string; rows: number; deleted: number | null }[];
  deliveries: Record<DeliveryStatus | "total", number>;
  last: {
    svix_id: string;
    type: string;
    object_id: string | null;
    status: string;
    delivery_count: number;
    received_at: number;
  }[];
  /** The latest runs of writes from the Backend API (backfill, reconcile), newest first. */
  runs: {
    id: string;
    kind: string;
    objects: string;
    status: string;
    /** Per object kind: `{ inserted, updated, unchanged, stale, total }`. */
    counts: Record<string, Record<string, number | null>>;
    started_at: number;
    updated_at: number;
    finished_at: number | null;
    error_code: string | null;
  }[];
}

/**
 * Counts per mirrored table, deliveries per status and the most recent deliveries.
 *
 * @example
 * const report = await syncStatus(store.db);
 */
export async function syncStatus(
  db: Kysely<ClerkSyncDatabase>,
  options: { last?: number } = {},
): Promise<SyncStatusReport> {
  const tables: SyncStatusReport["tables"] = [];
  for (const table of Object.keys(ENTITY_TABLES) as EntityTableName[]) {
    const row = await db
      .selectFrom(table as "clerk_users")
      .select((eb) => [eb.fn.countAll<number>().as("rows"), eb.fn.count<number>("deleted_at").as("deleted")])
      .executeTakeFirstOrThrow();
    tables.push({ table, rows: Number(row.rows), deleted: Number(row.deleted) });
  }
  for (const table of Object.keys(CHILD_TABLES) as ChildTableName[]) {
    const row = await db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as("rows"))
      .executeTakeFirstOrThrow();
    tables.push({ table, rows: Number(row.rows), deleted: null });
  }
  const byStatus = await db
    .selectFrom("clerk_webhook_events")
    .select((eb) => ["status", eb.fn.countAll<number>().as("n")])
    .groupBy("status")
    .execute();
  const deliveries = { total: 0 } as SyncStatusReport["deliveries"];
  for (const s of DELIVERY_STATUSES) deliveries[s] = 0;
  for (const row of byStatus) {
    deliveries[row.status as DeliveryStatus] = Number(row.n);
    deliveries.total += Number(row.n);
  }
  const last = await db
    .selectFrom("clerk_webhook_events")
    .select(["svix_id", "type", "object_id", "status", "delivery_count", "last_received_at"])
    .orderBy("last_received_at", "desc")
    .limit(options.last ?? 10)
    .execute();
  const runs = await db
    .selectFrom("clerk_sync_runs")
    .select(["id", "kind", "objects", "status", "counts", "started_at", "updated_at", "finished_at", "error_code"])
    .orderBy("started_at", "desc")
    .limit(5)
    .execute();
  return {
    tables,
    deliveries,
    last: last.map((r) => ({
      svix_id: r.svix_id,
      type: r.type,
      object_id: r.object_id,
      status: r.status,
      delivery_count: Number(r.delivery_count),
      received_at: Number(r.last_received_at),
    })),
    runs: runs.map((r) => ({
      ...r,
      // JSON columns: parsed on PostgreSQL, text elsewhere.
      counts: (typeof r.counts === "string"
        ? JSON.parse(r.counts)
        : r.counts) as SyncStatusReport["runs"][number]["counts"],
      started_at: Number(r.started_at),
      updated_at: Number(r.updated_at),
      finished_at: r.finished_at === null ? null : Number(r.finished_at),
    })),
  };
}

/** What `clerk-sync status --check` looks at. */
export interface SyncHealthOptions {
  /** Deliveries recorded `failed` whose last attempt is at or after this time (ms) make the check fail. */
  failedSince: number;
  /** When set: the check fails if no delivery was first received at or after this time (ms). */
  receivedSince?: number | undefined;
}

/** The check's findings: `healthy` is false when any problem is listed. */
export interface SyncHealth {
  healthy: boolean;
  problems: string[];
  failed: number;
  lastReceivedAt: number | null;
}

/**
 * A health check for cron jobs and monitors: failed deliveries since a time, and (optionally)
 * whether deliveries still arrive. Reads indexed columns only (`status`, `first_received_at`).
 *
 * @example
 * const health = await syncHealth(store.db, { failedSince: Date.now() - 3_600_000 });
 */
export async function syncHealth(db: Kysely<ClerkSyncDatabase>, options: SyncHealthOptions): Promise<SyncHealth> {
  const failedRow = await db
    .selectFrom("clerk_webhook_events")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("status", "=", "failed")
    .where("last_received_at", ">=", options.failedSince)
    .executeTakeFirstOrThrow();
  const lastRow = await db
    .selectFrom("clerk_webhook_events")
    .select((eb) => eb.fn.max("first_received_at").as("last"))
    .executeTakeFirstOrThrow();
  const failed = Number(failedRow.n);
  const lastReceivedAt = lastRow.last == null ? null : Number(lastRow.last);
  const problems: string[] = [];
  if (failed > 0) {
    problems.push(
      `${failed} deliver${failed === 1 ? "y" : "ies"} failed since ${new Date(options.failedSince).toISOString()}`,
    );
  }
  if (options.receivedSince !== undefined && (lastReceivedAt === null || lastReceivedAt < options.receivedSince)) {
    const last = lastReceivedAt === null ? "none ever" : `the last at ${new Date(lastReceivedAt).toISOString()}`;
    problems.push(`no delivery received since ${new Date(options.receivedSince).toISOString()} (${last})`);
  }
  return { healthy: problems.length === 0, problems, failed, lastReceivedAt };
}
