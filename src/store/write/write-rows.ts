/**
 * The rows every write path writes, as bind values in column order: a delivery row, an entity
 * row, a tombstone, a child row, each encoded for the dialect. The statements that take them are
 * built by write-sql.ts.
 */
import { ERROR_STATUS, type ErrorCode } from "../../core/errors.js";
import {
  CHILD_TABLES,
  type ChildTableName,
  type ColumnType,
  ENTITY_TABLES,
  type EntityTableName,
} from "../../core/schema.js";
import { DEFAULT_ATTEMPTS_KEPT, type DeliveryRecord } from "../../core/store-contract.js";
import { type DialectTypes, storableText } from "../dialect.js";

/**
 * Marks a delivery row claimed by a transaction still in progress. Never committed: the job
 * either finishes the delivery (the row gets its status) or its savepoint rolls the row back.
 */
export const CLAIMED = "processing";
/** Version of a placeholder row `readState` inserts to lock an absent id (see `readState`). */
export const ABSENT = -1;
/** Longest error message stored (MySQL's `text` holds 64 KiB). */
const MAX_ERROR_MESSAGE = 4000;

export const DELIVERIES = "clerk_webhook_events";

/** The columns of a delivery row, in the order of {@link deliveryRow}. */
export const DELIVERY_COLUMNS = [
  "svix_id",
  "type",
  "object_type",
  "object_id",
  "event_timestamp",
  "first_received_at",
  "last_received_at",
  "delivery_count",
  "status",
  "last_outcome",
  "error_code",
  "error_message",
  "payload",
] as const;

/** A delivery row as first inserted: received once, with `status` and, for a failure, its error. */
export function deliveryRow(
  record: DeliveryRecord,
  status: string,
  error: { code: string; message: string } | null = null,
): unknown[] {
  return [
    record.svixId,
    record.type,
    record.objectType,
    record.objectId,
    record.eventTimestamp,
    record.receivedAt,
    record.receivedAt,
    1,
    status,
    status,
    error?.code ?? null,
    error === null ? null : error.message.slice(0, MAX_ERROR_MESSAGE),
    record.payload,
  ];
}

/** The columns an entity upsert writes: id, version, then the table's data columns. */
export function entityColumns(table: EntityTableName): string[] {
  return ["id", "version", ...Object.keys(ENTITY_TABLES[table].columns)];
}

/** An entity row for {@link entityColumns}, its values encoded for the dialect. */
export function entityRow(
  types: DialectTypes,
  table: EntityTableName,
  id: string,
  version: number,
  values: Record<string, unknown>,
): unknown[] {
  const row: unknown[] = [storableText(id), version];
  for (const [name, type] of Object.entries(ENTITY_TABLES[table].columns)) {
    row.push(encodeEntityValue(types, name, type, values[name]));
  }
  return row;
}

/**
 * One entity column's value encoded for the dialect. The `data` column may hold the event's
 * `data` as the JSON text the delivery carried (`mapEvent`'s `dataText`), written as it is; any
 * other value, there or in other columns, goes through `dialect.types.encode`.
 */
export function encodeEntityValue(types: DialectTypes, column: string, type: ColumnType, value: unknown): unknown {
  return column === "data" && typeof value === "string" ? value : types.encode(type, value);
}

/** The columns of a deletion's insert: a bare tombstone when the row is absent. */
export const TOMBSTONE_COLUMNS = ["id", "version", "deleted_at"] as const;

/** A tombstone row for {@link TOMBSTONE_COLUMNS}: a hard delete's version is the deletion time. */
export function tombstoneRow(id: string, deletedAt: number, hard: boolean): unknown[] {
  return [id, hard ? deletedAt : 0, deletedAt];
}

export function childColumns(table: ChildTableName): string[] {
  return Object.keys(CHILD_TABLES[table].columns);
}

/** A child row for {@link childColumns}, its values encoded for the dialect. */
export function childRow(types: DialectTypes, table: ChildTableName, row: Record<string, unknown>): unknown[] {
  return Object.entries(CHILD_TABLES[table].columns).map(([name, type]) => types.encode(type, row[name]));
}

export const ATTEMPTS = "clerk_webhook_attempts";

/** The columns of an attempt row, in the order of {@link attemptRow}. */
export const ATTEMPT_COLUMNS = [
  "svix_id",
  "attempt",
  "received_at",
  "source",
  "outcome",
  "http_status",
  "error_code",
  "error_message",
  "duration_ms",
] as const;

/** Longest duration stored (a 32-bit column; a test's fake clock may be far from the real one). */
const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * An attempt row for {@link ATTEMPT_COLUMNS}: its number (the delivery row's `delivery_count`
 * after it), the HTTP status it answered (none for a replay), and the time from receipt to the
 * outcome written, by the wall clock, now.
 */
export function attemptRow(
  record: DeliveryRecord,
  attempt: number,
  outcome: string,
  error: { code: string; message: string } | null = null,
): unknown[] {
  const source = record.source ?? "webhook";
  const status = error === null ? 200 : (ERROR_STATUS[error.code as ErrorCode] ?? 500);
  const duration = Math.min(Math.max(Date.now() - record.receivedAt, 0), MAX_DURATION_MS);
  return [
    record.svixId,
    attempt,
    record.receivedAt,
    source,
    outcome,
    source === "webhook" ? status : null,
    error?.code ?? null,
    error === null ? null : error.message.slice(0, MAX_ERROR_MESSAGE),
    duration,
  ];
}

/** Attempts of a delivery id kept: those numbered above `attempt - keep` (see `keepAttempts`). */
export function attemptsKept(record: DeliveryRecord): number {
  return Math.max(1, record.keepAttempts ?? DEFAULT_ATTEMPTS_KEPT);
}
