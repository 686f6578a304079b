import type { DeliveryStatus, EntityTableName } from "../../core/schema.js";
import type { ClaimResult, DeliveryRecord, EntityState } from "../../core/store-contract.js";
import { SqlTransaction } from "../write/sql-transaction.js";
import { ABSENT, CLAIMED, deliveryRow } from "../write/write-rows.js";

/**
 * One batch transaction on a network database (PostgreSQL, MySQL), where receivers on other
 * machines write the same rows at the same time: a claim inserts the delivery row at once, and
 * reading a row's state locks it, inserting a placeholder when it is absent, so that a
 * concurrent writer of the same id waits for this transaction.
 */
export class RowLockingTransaction<Db> extends SqlTransaction<Db> {
  /** Delivery ids claimed and not yet finished: `retry` when the stored row was `failed`. */
  readonly #claims = new Map<string, { record: DeliveryRecord; retry: boolean }>();

  /**
   * Inserts the delivery row as claimed, or, when the id is stored, locks the stored row. A
   * claim by another transaction still in progress makes this wait for its commit (then the
   * delivery is a duplicate, or a retry if that one failed) or its rollback (then this claim
   * goes through).
   */
  async claimDelivery(record: DeliveryRecord): Promise<ClaimResult> {
    const claim = this.sql.claimText();
    let [row] = await this.execute(claim.text, deliveryRow(record, CLAIMED));
    if (!claim.returns) [row] = await this.execute(this.sql.deliveryStatusText(), [record.svixId]);
    const status = row?.status;
    // A forced replay processes a delivery id again whatever its stored outcome.
    if (status === CLAIMED || status === "failed" || (record.source === "force" && status !== undefined)) {
      this.#claims.set(record.svixId, { record, retry: status !== CLAIMED });
      return status === CLAIMED ? "new" : "retry";
    }
    await this.countDuplicate(record);
    return "duplicate";
  }

  async finishDelivery(svixId: string, status: DeliveryStatus): Promise<void> {
    const claim = this.#claims.get(svixId);
    if (!claim) throw new Error(`finishDelivery without claimDelivery for ${svixId}`);
    this.#claims.delete(svixId);
    await this.recordOutcome(claim.record, status, claim.retry);
  }

  /**
   * Locks the row even when it does not exist yet: a placeholder row (version -1) is inserted
   * first, unless the id is stored. The caller writes the row when this answers `undefined` (the
   * sync rules always do), so a placeholder never commits; a savepoint rollback removes it.
   */
  async readState(table: EntityTableName, id: string): Promise<EntityState | undefined> {
    const placeholder = this.sql.placeholderText(table);
    let [row] = await this.execute(placeholder.text, [id, ABSENT]);
    if (!placeholder.returns) [row] = await this.execute(this.sql.readStateText(table), [id]);
    if (!row || Number(row.version) < 0) return undefined;
    return { version: Number(row.version), deletedAt: row.deleted_at == null ? null : Number(row.deleted_at) };
  }
}
