import { randomUUID } from "node:crypto";
import { CompiledQuery, type ControlledTransaction, type Kysely, sql } from "kysely";
import { ClerkSyncError } from "../../core/errors.js";
import type { DeliveryOutcome } from "../../core/schema.js";
import type { DeliveryJob, DeliveryPlan, Settled, SyncTransaction } from "../../core/store-contract.js";
import {
  applyInSavepoints,
  applySnapshot,
  type BatchDelivery,
  lockOrder,
  type Savepoints,
  type SnapshotOutcome,
} from "../../core/sync-rules.js";
import { type NetworkDialectSpec, storeError } from "../dialect.js";
import type { ClerkSyncDatabase } from "../schema/database.js";
import { migrate, pendingMigrations } from "../schema/migrations.js";
import type { ClerkSyncStore } from "../store.js";
import { WriteSql } from "../write/write-sql.js";
import { RowLockingTransaction } from "./row-locking-transaction.js";
import { PlanBatches, setBasedPlans } from "./set-based-batch.js";
import { SetBasedStatements } from "./set-based-statements.js";

type Db = Kysely<ClerkSyncDatabase>;
type Trx = ControlledTransaction<ClerkSyncDatabase>;

/** Where a network store's connections come from: exactly one of a URL, the caller's pool, the caller's Kysely. */
export function checkOneSource(opener: string, options: { url?: unknown; pool?: unknown; kysely?: unknown }): void {
  const given = [options.url, options.pool, options.kysely].filter((v) => v !== undefined).length;
  if (given !== 1) throw new ClerkSyncError("invalid_config", `${opener} needs exactly one of url, pool or kysely`);
}

/** Longest wait for a row lock held by another transaction, unless configured. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;

/** How a network database's store is built; see `openPostgresStore` and `openMysqlStore`. */
export interface KyselyStoreOptions {
  /** A Kysely instance on a connection pool. */
  kysely: Db;
  dialect: NetworkDialectSpec;
  /** Whether `close()` destroys `kysely` (false when the caller owns it). */
  owned: boolean;
  /** The schema the tables live in, when it is known and not the connection's default. */
  schema?: string | undefined;
  /** Longest wait for a row lock held by another transaction, in ms. Default 5000. */
  lockTimeoutMs?: number | undefined;
  /** Runs of a transaction that lost a race (deadlock, serialization failure) before it fails, within lockTimeoutMs. Default 10. */
  maxAttempts?: number | undefined;
  /** Batches under way at once, each on its own pooled connection. Default 4. */
  maxConcurrentBatches?: number | undefined;
  /**
   * Whether clerk-sync opened the pool: its driver is known and each new connection ran
   * `dialect.session.sessionSetup`, so a transaction opens in fewer round trips (see `DialectSession.begin`).
   */
  setUp?: boolean | undefined;
  /** Asks for a set-based batch's statement text to be sent prepared (see `PreparedTexts`). */
  prepare?: ((text: string) => void) | undefined;
}

/**
 * A store on a connection pool (PostgreSQL, MySQL/MariaDB) through Kysely, where several
 * receivers may write at once. Every transaction is READ COMMITTED on one pooled connection,
 * its lock waits bounded. How a batch is applied is one sequence, from the cheapest way down
 * (see {@link apply}): set-based, then delivery by delivery in savepoints, then one delivery
 * per transaction once the batch has lost a race with another receiver.
 *
 * @example
 * const store = createKyselyStore({ kysely, dialect: POSTGRES, owned: true });
 */
export function createKyselyStore(options: KyselyStoreOptions): ClerkSyncStore {
  const { kysely: db, dialect } = options;
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? 10;
  const writeSql = new WriteSql(dialect.syntax);
  const planBatches = new PlanBatches(db, new SetBasedStatements(writeSql, dialect.types), {
    begin: dialect.session.begin(lockTimeoutMs, options.setUp ?? false),
    lockTimeoutMs,
    lockTimeoutQuery: dialect.session.lockTimeoutQuery(lockTimeoutMs),
    isTransient: (error) => lostRace(dialect, error),
    prepare: options.prepare,
  });
  const lockTimeout = dialect.session.lockTimeout(lockTimeoutMs);
  let closed = false;

  const refuseIfClosed = () => {
    if (closed) throw new ClerkSyncError("store_unavailable", "The store is closed");
  };

  async function migrationSchema(): Promise<string | undefined> {
    const query = dialect.session.currentSchemaQuery;
    if (options.schema !== undefined || query === undefined) return options.schema;
    const { rows } = await db.executeQuery<{ schema: string | null }>(CompiledQuery.raw(query));
    const schema = rows[0]?.schema;
    if (schema == null) {
      throw new ClerkSyncError(
        "invalid_config",
        "The database connection has no schema to create tables in: its search_path names no existing schema",
      );
    }
    return schema;
  }

  /** `work`, its errors coded by the dialect (see `storeError`). */
  async function coded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw storeError(dialect, error);
    }
  }

  /** Runs `work` in one READ COMMITTED transaction with bounded lock waits: committed if it returns. */
  async function inTransaction<T>(work: (tx: SyncTransaction<Db>, trx: Trx) => Promise<T>): Promise<T> {
    refuseIfClosed();
    const trx = await db.startTransaction().setIsolationLevel("read committed").execute();
    try {
      if (lockTimeout !== undefined) await trx.executeQuery(CompiledQuery.raw(lockTimeout));
      // The driver's errors are coded here, before the sync rules see them (a lost race stays
      // recognisable: it is the coded error's cause).
      const execute = async (text: string, values: readonly unknown[]) => {
        try {
          return (await trx.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, [...values]))).rows;
        } catch (error) {
          throw storeError(dialect, error);
        }
      };
      const result = await work(new RowLockingTransaction<Db>(writeSql, dialect.types, execute, trx), trx);
      await trx.commit().execute();
      return result;
    } catch (error) {
      if (!trx.isCommitted && !trx.isRolledBack) {
        await trx
          .rollback()
          .execute()
          .catch(() => undefined);
      }
      throw error;
    }
  }

  /** `work` in a transaction, run again (after a jittered back-off) while it loses races, within bounds. */
  async function retried<T>(work: (tx: SyncTransaction<Db>, trx: Trx) => Promise<T>): Promise<T> {
    const started = Date.now();
    for (let run = 1; ; run++) {
      try {
        return await inTransaction(work);
      } catch (error) {
        const again = run < maxAttempts && Date.now() - started < lockTimeoutMs && lostRace(dialect, error);
        if (!again) throw error;
        // Jittered back-off so that the receivers that collided do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** run));
      }
    }
  }

  /** The deliveries, in lock order, each in a savepoint of one transaction (a lost race is thrown). */
  function inSavepoints(deliveries: readonly BatchDelivery<Db>[], order: readonly number[]) {
    return (tx: SyncTransaction<Db>, trx: Trx) =>
      applyInSavepoints(tx, kyselySavepoints(trx), deliveries, order, (error) => lostRace(dialect, error));
  }

  /**
   * Applies a batch. Each step runs only if the one before cannot take the batch:
   *
   * 1. Set-based, for a batch of plans without conflicts among them (`setBasedPlans`): blind
   *    (written as if new, one statement on PostgreSQL) or locking (one read, then multi-row
   *    writes); see set-based-batch.ts. If it fails for another reason than a lost race (another
   *    receiver inserted one of its rows or recorded one of its deliveries meanwhile, or a
   *    delivery cannot be written), it rolled back whole: go to 2.
   * 2. Delivery by delivery in one transaction, in lock order, each in a savepoint, so that a
   *    failing delivery is recorded as `failed` alone and the others commit.
   * 3. After a lost race (deadlock, lock timeout) in 1 or 2: one delivery per transaction, in
   *    lock order, each run again while it loses races, within bounds. Run again whole, the
   *    batch could lose again and again: its locks span many rows, and a set-based statement
   *    takes them in an order PostgreSQL does not promise. One delivery at a time holds few.
   *
   * Any other error (the database is down) fails every delivery of the batch: 5xx, Svix retries.
   */
  async function apply(
    deliveries: readonly BatchDelivery<Db>[],
    plans?: readonly DeliveryPlan[],
  ): Promise<Settled<DeliveryOutcome>[]> {
    const results = await applyOnce(deliveries, plans);
    return results.map((r) => (r.ok ? r : failed(storeError(dialect, r.error))));
  }

  /** {@link apply}, its errors not yet coded. */
  async function applyOnce(
    deliveries: readonly BatchDelivery<Db>[],
    plans?: readonly DeliveryPlan[],
  ): Promise<Settled<DeliveryOutcome>[]> {
    const order = lockOrder(deliveries.map((d) => d.plan));
    try {
      const setBased = plans && setBasedPlans(plans, order);
      if (setBased) {
        refuseIfClosed();
        const outcomes = await planBatches.run(setBased).catch((error: unknown) => {
          if (lostRace(dialect, error)) throw error;
          return undefined; // on to step 2
        });
        if (outcomes) return inOrder(order, outcomes);
      }
      return await inTransaction(inSavepoints(deliveries, order));
    } catch (error) {
      if (!lostRace(dialect, error)) return deliveries.map(() => failed(error));
    }
    const results: Settled<DeliveryOutcome>[] = new Array(deliveries.length);
    for (const index of order) {
      const one = inSavepoints([deliveries[index] as BatchDelivery<Db>], [0]);
      const [result] = await retried(one).catch((error: unknown) => [failed(error)]);
      results[index] = result as Settled<DeliveryOutcome>;
    }
    return results;
  }

  /**
   * Readiness' write probe: a delivery's claim (the insert every delivery starts with) of an id
   * of its own, in a transaction that is rolled back. It fails where deliveries would: no
   * privilege to write the tables, a read-only server (a standby after a failover,
   * `default_transaction_read_only`), a lock or statement timeout. Nothing is committed.
   */
  async function probeWrite(): Promise<void> {
    const rollback = new Error("readiness probe: roll back");
    const record = {
      svixId: `clerk_sync_readiness_probe_${randomUUID()}`,
      type: "clerk_sync.readiness_probe",
      objectType: null,
      objectId: null,
      eventTimestamp: null,
      receivedAt: Date.now(),
      payload: "{}",
    };
    try {
      await inTransaction(async (tx) => {
        await tx.claimDelivery(record);
        throw rollback;
      });
    } catch (error) {
      if (error !== rollback) throw error;
    }
  }

  return {
    dialect,
    db,
    maxConcurrentBatches: options.maxConcurrentBatches ?? 4,
    // Coded like a delivery's errors: a receiver migrates on its first delivery, whose answer
    // for an unreachable database must be store_unavailable (503), not internal_error.
    migrate: () => coded(async () => migrate(db as Kysely<unknown>, dialect, { schema: await migrationSchema() })),
    pendingMigrations: () =>
      coded(async () => pendingMigrations(db as Kysely<unknown>, dialect, { schema: await migrationSchema() })),
    async ping() {
      refuseIfClosed();
      await sql`select 1`.execute(db);
      await probeWrite();
    },
    async close() {
      if (closed) return;
      closed = true;
      if (options.owned) await db.destroy();
    },
    applyPlans: (plans: readonly DeliveryPlan[]) =>
      apply(
        plans.map((plan) => ({ plan })),
        plans,
      ),
    applyJobs: (jobs: readonly DeliveryJob<Db>[]) => apply(jobs),
    transaction: (work) => retried((tx) => work(tx)),
    async applySnapshots(mutations, { hard, checkpoint }) {
      refuseIfClosed();
      try {
        return await planBatches.runSnapshots(mutations, hard, checkpoint);
      } catch {
        // Another receiver wrote one of the page's rows meanwhile (its plain INSERT failed), the
        // page lost a race, or a row cannot be written: the page, rolled back whole, goes row by
        // row, retried while it loses races; an error there is the page's.
      }
      return retried(async (tx, trx) => {
        const outcomes: SnapshotOutcome[] = [];
        for (const m of mutations) outcomes.push(await applySnapshot(tx, m, hard));
        await checkpoint?.(outcomes, trx);
        return outcomes;
      });
    },
  };
}

/** Kysely's savepoints on an open transaction, one at a time. */
function kyselySavepoints(trx: Trx): Savepoints {
  let savepoint: ControlledTransaction<ClerkSyncDatabase, ["delivery"]> | undefined;
  return {
    async open() {
      savepoint = await trx.savepoint("delivery").execute();
    },
    async release() {
      await savepoint?.releaseSavepoint("delivery").execute();
    },
    async rollback() {
      await savepoint?.rollbackToSavepoint("delivery").execute();
      await savepoint?.releaseSavepoint("delivery").execute();
    },
  };
}

/** Outcomes of plans applied in `order`, put back in the order given. */
function inOrder(order: readonly number[], outcomes: readonly DeliveryOutcome[]): Settled<DeliveryOutcome>[] {
  const results: Settled<DeliveryOutcome>[] = new Array(order.length);
  order.forEach((index, i) => {
    results[index] = { ok: true, value: outcomes[i] as DeliveryOutcome };
  });
  return results;
}

const failed = (error: unknown): Settled<DeliveryOutcome> => ({ ok: false, error });

/** Whether `error` or any error in its cause chain (a hook's query, say) is a lost race. */
export function lostRace(dialect: NetworkDialectSpec, error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (dialect.isTransient(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
