/**
 * Whether a mirror equals the in-order result: the same history applied one message at a time,
 * in Clerk's order, through the same engine to a fresh in-memory SQLite store; then the mirrored
 * tables of both compared row by row, for the objects of the history only (the mirror may hold
 * other data).
 */
import { sql } from "kysely";
import type { DeleteMode } from "../core/engine.js";
import { SyncEngine } from "../core/engine.js";
import { isClerkSyncError } from "../core/errors.js";
import { CHILD_TABLES, ENTITY_TABLES } from "../core/schema.js";
import { parseEvent } from "../core/validate.js";
import { openStore } from "../store/open.js";
import { normalizeRow } from "../store/queries.js";
import type { ClerkSyncStore } from "../store/store.js";
import type { SimulatedMessage } from "./history.js";

/** One row that differs: `expected` is the in-order result's, `actual` the mirror's (null: no row). */
export interface RowDifference {
  table: string;
  id: string;
  expected: Record<string, unknown> | null;
  actual: Record<string, unknown> | null;
  /** The columns whose values differ (every column when one side has no row). */
  columns: string[];
}

/** The outcome of {@link compareMirror}. */
export interface MirrorComparison {
  /** Rows compared (both sides, by table and id). */
  rows: number;
  differences: RowDifference[];
}

const CHUNK = 400;

/** JSON with object keys sorted, so that key order (jsonb, MariaDB) does not count as a difference. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** The rows of `table` whose `column` is one of `ids`, normalised, keyed by id. */
async function rowsOf(
  store: ClerkSyncStore,
  table: string,
  column: string,
  ids: readonly string[],
): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const part = ids.slice(i, i + CHUNK);
    const { rows } = await sql<
      Record<string, unknown>
    >`select * from ${sql.table(table)} where ${sql.ref(column)} in (${sql.join(part)})`.execute(store.db);
    for (const row of rows) {
      const normal = normalizeRow<Record<string, unknown>>(row, store.dialect);
      out.set(String(normal.id), normal);
    }
  }
  return out;
}

/** Applies `history` in order to a fresh in-memory SQLite store and returns it (the caller closes it). */
export async function applyInOrder(
  history: readonly SimulatedMessage[],
  options: { deleteMode?: DeleteMode } = {},
): Promise<ClerkSyncStore> {
  const reference = await openStore(":memory:");
  try {
    await reference.migrate();
    const engine = new SyncEngine(reference, { deleteMode: options.deleteMode ?? "soft" });
    for (const message of history) {
      let parsed: ReturnType<typeof parseEvent>;
      try {
        parsed = parseEvent(message.body);
      } catch (error) {
        // A receiver refuses it too (4xx): it changes nothing there either.
        if (isClerkSyncError(error)) continue;
        throw error;
      }
      await engine.process({ svixId: message.svixId, rawBody: message.body, parsed });
    }
    return reference;
  } catch (error) {
    await reference.close();
    throw error;
  }
}

/**
 * Compares the mirrored tables of `mirror` with the in-order result of `history`, for the
 * objects the history names (entity rows by id, email rows by user id).
 *
 * @example
 * const { differences } = await compareMirror(store, history);
 * differences.length === 0; // the mirror converged
 */
export async function compareMirror(
  mirror: ClerkSyncStore,
  history: readonly SimulatedMessage[],
  options: { deleteMode?: DeleteMode } = {},
): Promise<MirrorComparison> {
  const reference = await applyInOrder(history, options);
  try {
    const ids = [...new Set(history.map((m) => m.objectId).filter((id) => id.length > 0))];
    const differences: RowDifference[] = [];
    let rows = 0;
    const tables = [
      ...Object.keys(ENTITY_TABLES).map((table) => ({ table, column: "id" })),
      ...Object.values(CHILD_TABLES).map((child) => ({ table: child.name, column: child.parentColumn })),
    ];
    for (const { table, column } of tables) {
      const expected = await rowsOf(reference, table, column, ids);
      const actual = await rowsOf(mirror, table, column, ids);
      for (const id of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
        rows++;
        const want = expected.get(id) ?? null;
        const got = actual.get(id) ?? null;
        const columns =
          want === null || got === null
            ? Object.keys(want ?? got ?? {})
            : [...new Set([...Object.keys(want), ...Object.keys(got)])].filter(
                (c) => canonical(want[c]) !== canonical(got[c]),
              );
        if (columns.length > 0) differences.push({ table, id, expected: want, actual: got, columns });
      }
    }
    return { rows, differences };
  } finally {
    await reference.close();
  }
}
