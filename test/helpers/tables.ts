import { sql } from "kysely";
import { CHILD_TABLES, ENTITY_TABLES } from "../../src/core/schema.js";
import { normalizeRow } from "../../src/store/queries.js";
import type { ClerkSyncStore } from "../../src/store/store.js";

/** Every row of the mirrored tables, sorted, for comparing two databases. */
export async function snapshot(store: ClerkSyncStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of [...Object.keys(ENTITY_TABLES), ...Object.keys(CHILD_TABLES)]) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by id`.execute(
      store.db,
    );
    out[table] = rows;
  }
  return out;
}

/**
 * {@link snapshot} with every row normalised (`normalizeRow`: times and counts as numbers, JSON
 * parsed, booleans as booleans), so that the driver's representation does not matter.
 */
export async function normalizedSnapshot(store: ClerkSyncStore): Promise<Record<string, unknown[]>> {
  const raw = await snapshot(store);
  return Object.fromEntries(
    Object.entries(raw).map(([table, rows]) => [
      table,
      rows.map((row) => normalizeRow(row as Record<string, unknown>, store.dialect)),
    ]),
  );
}

/** Empties every table clerk-sync writes (mirrored tables and deliveries), keeping the schema. */
export async function clearTables(store: ClerkSyncStore): Promise<void> {
  for (const table of [
    ...Object.keys(ENTITY_TABLES),
    ...Object.keys(CHILD_TABLES),
    "clerk_webhook_events",
    "clerk_sync_runs",
  ]) {
    await sql`delete from ${sql.table(table)}`.execute(store.db);
  }
}
