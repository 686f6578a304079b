import type { ChildSet } from "../../core/mappers.js";
import type { ChildTableName, DeliveryStatus, EntityTableName } from "../../core/schema.js";
import type {
  Awaitable,
  ClaimResult,
  DeliveryRecord,
  EntityState,
  SyncTransaction,
} from "../../core/store-contract.js";
import type { DialectTypes } from "../dialect.js";
import { attemptRow, attemptsKept, childRow, deliveryRow, entityRow, tombstoneRow } from "./write-rows.js";
import type { WriteSql } from "./write-sql.js";

/** A stored row as the driver answers it. */
export type Row = Record<string, unknown>;

/** Runs one statement on the transaction's connection, answering its rows (none for writes). */
export type Execute = (text: string, values: readonly unknown[]) => Awaitable<Row[]>;

/**
 * The sync rules' transaction operations as SQL, one row per statement, on any dialect: every
 * write goes through {@link WriteSql}. How a delivery is claimed and a row's state is read
 * depends on how the database keeps concurrent writers apart, and is left to each store:
 * row locks and placeholders on PostgreSQL and MySQL (`sql/row-locking-transaction.ts`), one
 * writer at a time and a claim written with its outcome on SQLite (`sqlite/sqlite-transaction.ts`).
 */
export abstract class SqlTransaction<Db> implements SyncTransaction<Db> {
  constructor(
    protected readonly sql: WriteSql,
    protected readonly types: DialectTypes,
    protected readonly execute: Execute,
    /** The store's handle on this transaction, for hooks. */
    readonly db: Db,
  ) {}

  abstract claimDelivery(record: DeliveryRecord): Awaitable<ClaimResult>;
  abstract finishDelivery(svixId: string, status: DeliveryStatus): Awaitable<void>;
  abstract readState(table: EntityTableName, id: string): Awaitable<EntityState | undefined>;

  async upsertEntity(table: EntityTableName, id: string, version: number, values: Record<string, unknown>) {
    await this.execute(this.sql.upsertText(table), entityRow(this.types, table, id, version, values));
  }

  async markDeleted(table: EntityTableName, id: string, deletedAt: number, hard: boolean): Promise<void> {
    await this.execute(this.sql.markDeletedText(table, hard), tombstoneRow(id, deletedAt, hard));
  }

  async replaceChildren(set: ChildSet): Promise<void> {
    await this.deleteChildren(set.table, set.parentId);
    // One statement for all rows; an id listed twice keeps its last row, as row-by-row upserts would.
    const rows = [...new Map(set.rows.map((row) => [row.id, row])).values()];
    if (rows.length === 0) return;
    const values = rows.flatMap((row) => childRow(this.types, set.table, row));
    await this.execute(this.sql.upsertChildrenText(set.table, rows.length), values);
  }

  async deleteChildren(table: ChildTableName, parentId: string): Promise<void> {
    await this.execute(this.sql.deleteChildrenText(table), [parentId]);
  }

  async recordFailure(record: DeliveryRecord, error: { code: string; message: string }): Promise<void> {
    await this.execute(this.sql.recordFailureText(), deliveryRow(record, "failed", error));
    await this.recordAttempt(record, "failed", true, error);
  }

  /** Counts a duplicate's attempt on its stored row. */
  protected async countDuplicate(record: DeliveryRecord): Promise<void> {
    await this.execute(this.sql.countDuplicateText(), [record.receivedAt, record.svixId]);
    await this.recordAttempt(record, "duplicate", true);
  }

  /** Records a claimed delivery's outcome: a new row's status, or a retried row's attempt. */
  protected async recordOutcome(record: DeliveryRecord, status: DeliveryStatus, retry: boolean): Promise<void> {
    if (retry) {
      await this.execute(this.sql.finishRetryText(), [status, status, record.receivedAt, record.svixId]);
    } else {
      await this.execute(this.sql.finishNewText(), [status, status, record.svixId]);
    }
    await this.recordAttempt(record, status, retry);
  }

  /**
   * Records the attempt in `clerk_webhook_attempts`, numbered with the delivery row's count as
   * this transaction left it; `again` (the delivery id was recorded before): the attempts but the
   * last `keepAttempts` are removed. A first attempt (most deliveries) is one statement.
   */
  protected async recordAttempt(
    record: DeliveryRecord,
    outcome: string,
    again: boolean,
    error: { code: string; message: string } | null = null,
  ): Promise<void> {
    const values = attemptRow(record, 0, outcome, error);
    values[1] = record.svixId; // the attempt number's subquery
    await this.execute(this.sql.recordAttemptText(), values);
    if (again) await this.execute(this.sql.pruneAttemptsText(), [record.svixId, attemptsKept(record), record.svixId]);
  }
}
