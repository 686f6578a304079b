import { CompiledQuery, type ControlledTransaction, type Kysely } from "kysely";
import type { ChildSet } from "../../core/mappers.js";
import type { ChildTableName, DeliveryStatus, EntityTableName } from "../../core/schema.js";
import type {
  BatchJob,
  ClaimResult,
  DeliveryRecord,
  EntityState,
  Settled,
  SyncTransaction,
} from "../../core/store-contract.js";
import type { DialectSpec } from "../dialect.js";
import type { ClerkSyncDatabase } from "../schema/database.js";
import { ABSENT, CLAIMED, childRow, deliveryRow, entityRow, tombstoneRow } from "../write/write-rows.js";
import type { Statements } from "./job-statements.js";

type Db = Kysely<ClerkSyncDatabase>;
type Trx = ControlledTransaction<ClerkSyncDatabase>;

/**
 * Runs a batch's jobs one by one in the open transaction `trx`, in `order`, each in its own
 * savepoint: a failing job is rolled back alone and recorded through its `fail`. A lost race
 * (deadlock, serialization failure) is thrown: it poisons the whole transaction.
 */
export async function runJobsInSavepoints<T>(
  trx: Trx,
  jobs: readonly BatchJob<T, Db>[],
  order: readonly number[],
  dialect: DialectSpec,
  statements: Statements,
): Promise<Settled<T>[]> {
  const results: Settled<T>[] = new Array(jobs.length);
  for (const index of order) {
    const job = jobs[index] as BatchJob<T, Db>;
    const savepoint = await trx.savepoint("job").execute();
    const tx = new KyselyTransaction(trx, dialect, statements);
    try {
      const value = await job.run(tx);
      await savepoint.releaseSavepoint("job").execute();
      results[index] = { ok: true, value };
    } catch (error) {
      // A lost race poisons the whole transaction (MySQL has already rolled it back).
      if (isTransient(dialect, error)) throw error;
      await savepoint.rollbackToSavepoint("job").execute();
      await savepoint.releaseSavepoint("job").execute();
      await job.fail?.(tx, error);
      results[index] = { ok: false, error };
    }
  }
  return results;
}

/** Whether `error` or any error in its cause chain (a hook's query, say) is a lost race. */
export function isTransient(dialect: DialectSpec, error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (dialect.isTransient(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * One job's view of the batch transaction. The write path runs raw SQL on the transaction's
 * connection; hooks get the same transaction as a Kysely instance (`db`).
 */
class KyselyTransaction implements SyncTransaction<Db> {
  readonly #trx: Trx;
  readonly #d: DialectSpec;
  readonly #sql: Statements;
  /** Delivery ids this job claimed: `new` rows were inserted by the claim, `retry` rows were `failed`. */
  readonly #claims = new Map<string, { record: DeliveryRecord; retry: boolean }>();

  constructor(trx: Trx, dialect: DialectSpec, statements: Statements) {
    this.#trx = trx;
    this.#d = dialect;
    this.#sql = statements;
  }

  get db(): Db {
    return this.#trx;
  }

  async #run<R = Record<string, unknown>>(text: string, params: readonly unknown[]): Promise<R[]> {
    const { rows } = await this.#trx.executeQuery<R>(CompiledQuery.raw(text, params as unknown[]));
    return rows;
  }

  /**
   * Inserts the delivery row as claimed, or, when the id is stored, locks the stored row. A
   * claim by another transaction still in progress makes this wait for its commit (then the
   * delivery is a duplicate, or a retry if that one failed) or its rollback (then this claim
   * goes through).
   */
  async claimDelivery(record: DeliveryRecord): Promise<ClaimResult> {
    const claim = this.#sql.claim();
    let [row] = await this.#run<{ status: string }>(claim.text, deliveryRow(record, CLAIMED));
    if (!claim.returns) [row] = await this.#run<{ status: string }>(this.#sql.deliveryStatus(), [record.svixId]);
    if (row?.status === CLAIMED) {
      this.#claims.set(record.svixId, { record, retry: false });
      return "new";
    }
    if (row?.status === "failed") {
      this.#claims.set(record.svixId, { record, retry: true });
      return "retry";
    }
    await this.#run(this.#sql.countDuplicate(), [record.receivedAt, "duplicate", record.svixId]);
    return "duplicate";
  }

  async finishDelivery(svixId: string, status: DeliveryStatus): Promise<void> {
    const claim = this.#claims.get(svixId);
    this.#claims.delete(svixId);
    if (!claim) throw new Error(`finishDelivery without claimDelivery for ${svixId}`);
    if (claim.retry) {
      await this.#run(this.#sql.finishRetry(), [status, status, claim.record.receivedAt, svixId]);
    } else {
      await this.#run(this.#sql.finishNew(), [status, status, svixId]);
    }
  }

  async recordFailure(record: DeliveryRecord, error: { code: string; message: string }): Promise<void> {
    await this.#run(this.#sql.recordFailure(), deliveryRow(record, "failed", error));
  }

  /**
   * Locks the row even when it does not exist yet: a placeholder row (version -1) is inserted
   * first, unless the id is stored, so that a concurrent writer of the same id waits on the key
   * instead of also seeing "absent" and overwriting a newer version. The caller writes the row
   * when this answers `undefined` (the engine always does), so a placeholder never commits; a
   * savepoint rollback removes it.
   */
  async readState(table: EntityTableName, id: string): Promise<EntityState | undefined> {
    type Row = { version: number | string; deleted_at: number | string | null };
    const placeholder = this.#sql.placeholder(table);
    let [row] = await this.#run<Row>(placeholder.text, [id, ABSENT]);
    if (!placeholder.returns) [row] = await this.#run<Row>(this.#sql.readState(table), [id]);
    if (!row || Number(row.version) < 0) return undefined;
    return { version: Number(row.version), deletedAt: row.deleted_at === null ? null : Number(row.deleted_at) };
  }

  async upsertEntity(table: EntityTableName, id: string, version: number, values: Record<string, unknown>) {
    await this.#run(this.#sql.upsert(table), entityRow(this.#d, table, id, version, values));
  }

  async markDeleted(table: EntityTableName, id: string, deletedAt: number, hard: boolean): Promise<void> {
    await this.#run(this.#sql.markDeleted(table, hard), tombstoneRow(id, deletedAt, hard));
  }

  async replaceChildren(set: ChildSet): Promise<void> {
    await this.deleteChildren(set.table, set.parentId);
    // One statement for all rows; an id listed twice keeps its last row, as row-by-row upserts would.
    const rows = [...new Map(set.rows.map((row) => [row.id, row])).values()];
    if (rows.length === 0) return;
    const params = rows.flatMap((row) => childRow(this.#d, set.table, row));
    await this.#run(this.#sql.insertChildren(set.table, rows.length), params);
  }

  async deleteChildren(table: ChildTableName, parentId: string): Promise<void> {
    await this.#run(this.#sql.deleteChildren(table), [parentId]);
  }
}
