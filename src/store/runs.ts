import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { ClerkSyncDatabase } from "./schema/database.js";

/** The kinds of run recorded in `clerk_sync_runs`: writes from the Backend API, not webhooks. */
export type SyncRunKind = "backfill" | "reconcile";

/**
 * Records the start of a run (status `running`, no cursor, empty counts) and answers its id.
 * Backfills and reconciliations both start their rows here, so the table has one writer of its
 * shape.
 */
export async function insertRun(
  db: Kysely<ClerkSyncDatabase>,
  run: { kind: SyncRunKind; objects: string; at: number },
): Promise<string> {
  const id = `run_${randomUUID().replaceAll("-", "")}`;
  await db
    .insertInto("clerk_sync_runs")
    .values({
      id,
      kind: run.kind,
      objects: run.objects,
      status: "running",
      current: null,
      cursor: null,
      counts: "{}",
      started_at: run.at,
      updated_at: run.at,
      finished_at: null,
      error_code: null,
      error_message: null,
    })
    .execute();
  return id;
}
