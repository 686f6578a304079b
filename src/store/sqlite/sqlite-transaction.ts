import type Database from "better-sqlite3";
import type { DeliveryStatus, EntityTableName } from "../../core/schema.js";
import type { ClaimResult, DeliveryRecord, EntityState } from "../../core/store-contract.js";
import { storeError } from "../dialect.js";
import { type Row, SqlTransaction } from "../write/sql-transaction.js";
import { deliveryRow } from "../write/write-rows.js";
import { WriteSql } from "../write/write-sql.js";
import { SQLITE } from "./sqlite-dialect.js";

type PreparedStatement = Database.Statement<unknown[], unknown>;

/**
 * The sync rules' operations on one SQLite connection, through prepared statements kept per
 * text. A write transaction (BEGIN IMMEDIATE) holds the database's only write lock, so reads
 * need no row locks, and a new delivery's claim is written once, with its outcome, when it
 * finishes (the deferred claim): one statement instead of an insert and an update.
 */
export class SqliteTransaction<Db> extends SqlTransaction<Db> {
  /** Claims not yet finished: `recorded` when the stored row was `failed` (a retry). */
  readonly #pending = new Map<string, { record: DeliveryRecord; recorded: boolean }>();

  constructor(sqlite: Database.Database, db: Db) {
    const prepared = new Map<string, PreparedStatement>();
    const execute = (text: string, values: readonly unknown[]): Row[] => {
      let statement = prepared.get(text);
      try {
        if (statement === undefined) {
          statement = sqlite.prepare(text);
          prepared.set(text, statement);
        }
        if (statement.reader) return statement.all(values) as Row[];
        statement.run(values);
        return [];
      } catch (error) {
        // Coded here, before the sync rules see it (see SQLITE.classify).
        throw storeError(SQLITE, error);
      }
    };
    super(new WriteSql(SQLITE.syntax), SQLITE.types, execute, db);
  }

  /** Drops claims of a rolled-back savepoint or transaction. */
  forgetPending(): void {
    this.#pending.clear();
  }

  async claimDelivery(record: DeliveryRecord): Promise<ClaimResult> {
    const [row] = await this.execute(this.sql.deliveryStatusText(), [record.svixId]);
    // A forced replay processes a delivery id again whatever its stored outcome.
    if (!row || row.status === "failed" || record.source === "force") {
      this.#pending.set(record.svixId, { record, recorded: row !== undefined });
      return row ? "retry" : "new";
    }
    await this.countDuplicate(record);
    return "duplicate";
  }

  async finishDelivery(svixId: string, status: DeliveryStatus): Promise<void> {
    const pending = this.#pending.get(svixId);
    if (!pending) throw new Error(`finishDelivery without claimDelivery for ${svixId}`);
    this.#pending.delete(svixId);
    if (pending.recorded) await this.recordOutcome(pending.record, status, true);
    else {
      await this.execute(this.sql.insertDeliveryText(), deliveryRow(pending.record, status));
      await this.recordAttempt(pending.record, status, false);
    }
  }

  async readState(table: EntityTableName, id: string): Promise<EntityState | undefined> {
    const [row] = await this.execute(this.sql.readStateText(table), [id]);
    return row && { version: row.version as number, deletedAt: row.deleted_at as number | null };
  }
}
