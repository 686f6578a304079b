/** The rows and SQL pieces the stores share (the SQLite writer, and both write paths of the network stores). */
import {
  CHILD_TABLES,
  type ChildTableName,
  type ColumnType,
  ENTITY_TABLES,
  type EntityTableName,
} from "../../core/schema.js";
import type { DeliveryRecord } from "../../core/store-contract.js";
import type { DialectSpec } from "../dialect.js";

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
  dialect: DialectSpec,
  table: EntityTableName,
  id: string,
  version: number,
  values: Record<string, unknown>,
): unknown[] {
  const row: unknown[] = [id, version];
  for (const [name, type] of Object.entries(ENTITY_TABLES[table].columns)) {
    row.push(encodeEntityValue(dialect, name, type, values[name]));
  }
  return row;
}

/**
 * One entity column's value encoded for the dialect. The `data` column may hold the event's
 * `data` as the JSON text the delivery carried (`mapEvent`'s `dataText`), written as it is; any
 * other value, there or in other columns, goes through `dialect.types.encode`.
 */
export function encodeEntityValue(dialect: DialectSpec, column: string, type: ColumnType, value: unknown): unknown {
  return column === "data" && typeof value === "string" ? value : dialect.types.encode(type, value);
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
export function childRow(dialect: DialectSpec, table: ChildTableName, row: Record<string, unknown>): unknown[] {
  return Object.entries(CHILD_TABLES[table].columns).map(([name, type]) => dialect.types.encode(type, row[name]));
}

/**
 * SQL shapes shared by the per-job statements (kysely-statements.ts) and the set-based ones
 * (plan-batch-sql.ts), so that both paths write rows alike.
 */
export class Shapes {
  constructor(readonly dialect: DialectSpec) {}

  q = (name: string): string => this.dialect.syntax.quote(name);
  list = (names: readonly string[]): string => names.map(this.q).join(", ");

  /** `INSERT INTO table (columns) VALUES ` followed by `tuples`. */
  insert(table: string, columns: readonly string[], tuples: readonly string[]): string {
    return `INSERT INTO ${this.q(table)} (${this.list(columns)}) VALUES ${tuples.join(", ")}`;
  }

  /** The upsert's conflict clause: replaces version and data columns, never `deleted_at`. */
  upsertConflict(table: EntityTableName): string {
    const sets = entityColumns(table)
      .slice(1)
      .map((c) => `${this.q(c)} = ${this.dialect.syntax.incoming(c)}`);
    return this.dialect.syntax.onConflictUpdate("id", sets);
  }

  /**
   * A deletion's conflict clause: keeps the later deletion time; `hard` also clears the data
   * columns (but those the table keeps) and sets version to the deletion time.
   */
  markDeletedConflict(table: EntityTableName, hard: boolean): string {
    const d = this.dialect;
    const def = ENTITY_TABLES[table];
    const sets = [
      `${this.q("deleted_at")} = ${d.syntax.greatest}(COALESCE(${d.syntax.stored(table, "deleted_at")}, 0), ${d.syntax.incoming("deleted_at")})`,
    ];
    if (hard) {
      sets.push(`${this.q("version")} = ${d.syntax.incoming("deleted_at")}`);
      for (const c of Object.keys(def.columns)) if (!def.keep?.includes(c)) sets.push(`${this.q(c)} = NULL`);
    } else {
      // A placeholder left by readState (version -1) becomes a bare tombstone (version 0).
      sets.push(
        `${this.q("version")} = ${d.syntax.greatest}(${d.syntax.stored(table, "version")}, ${d.syntax.incoming("version")})`,
      );
    }
    return d.syntax.onConflictUpdate("id", sets);
  }

  /** A child row's conflict clause: an id already stored takes the new row. */
  childConflict(table: ChildTableName): string {
    const sets = childColumns(table)
      .filter((c) => c !== "id")
      .map((c) => `${this.q(c)} = ${this.dialect.syntax.incoming(c)}`);
    return this.dialect.syntax.onConflictUpdate("id", sets);
  }

  /** An `UPDATE` of a delivery row: `assignments`, for the row `where` (a placeholder). */
  updateDelivery(assignments: readonly string[], where: string): string {
    return `UPDATE ${this.q(DELIVERIES)} SET ${assignments.join(", ")} WHERE ${this.q("svix_id")} = ${where}`;
  }

  /** Assignments of a duplicate's update: its attempt counted, given `[last_received_at, last_outcome]`. */
  countDuplicate(values: readonly [string, string]): string[] {
    const count = this.q("delivery_count");
    return [
      `${this.q("last_received_at")} = ${values[0]}`,
      `${this.q("last_outcome")} = ${values[1]}`,
      `${count} = ${count} + 1`,
    ];
  }

  /** Assignments of a new delivery's outcome, given `[status, last_outcome]`. */
  finishNew(values: readonly [string, string]): string[] {
    return [`${this.q("status")} = ${values[0]}`, `${this.q("last_outcome")} = ${values[1]}`];
  }

  /**
   * Assignments of a retried delivery's outcome, given `[status, last_outcome, last_received_at]`:
   * the attempt counted, the previous error cleared.
   */
  finishRetry(values: readonly [string, string, string]): string[] {
    const count = this.q("delivery_count");
    return [
      ...this.finishNew([values[0], values[1]]),
      `${this.q("last_received_at")} = ${values[2]}`,
      `${this.q("error_code")} = NULL`,
      `${this.q("error_message")} = NULL`,
      `${count} = ${count} + 1`,
    ];
  }
}
