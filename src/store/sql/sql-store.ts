import { CompiledQuery, type Kysely, sql } from "kysely";
import { ClerkSyncError } from "../../core/errors.js";
import type { BatchJob, Settled } from "../../core/store-contract.js";
import type { NetworkDialectSpec } from "../dialect.js";
import type { ClerkSyncDatabase } from "../schema/database.js";
import { migrate, pendingMigrations } from "../schema/migrations.js";
import type { ClerkSyncStore } from "../store.js";
import { PlanBatchSql } from "../write/write-sql.js";
import { Statements } from "./job-statements.js";
import { isTransient, runJobsInSavepoints } from "./savepoint-batch.js";
import { PlanBatches, setBasedPlans } from "./set-based-batch.js";

type Db = Kysely<ClerkSyncDatabase>;

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
  /** Runs of a batch that lost a race (deadlock, serialization failure) before it fails, within lockTimeoutMs. Default 10. */
  maxAttempts?: number | undefined;
  /** Batches under way at once, each on its own pooled connection. Default 4. */
  maxConcurrentBatches?: number | undefined;
  /**
   * Whether clerk-sync opened the pool: its driver is known and each new connection ran
   * `dialect.session.sessionSetup`, so a transaction opens in fewer round trips (see `DialectSpec.begin`).
   */
  setUp?: boolean | undefined;
  /** Asks for a set-based batch's statement text to be sent prepared (see `PreparedTexts`). */
  prepare?: ((text: string) => void) | undefined;
}

/**
 * A store on a connection pool (PostgreSQL, MySQL/MariaDB) through Kysely. A batch is one
 * transaction on one connection (READ COMMITTED). A batch of plans (deliveries without hooks)
 * runs set-based (plan-batch.ts): a few multi-row statements for the whole batch. Otherwise, or
 * when that fails, each job runs in its own savepoint, so that a failing job fails alone. A batch
 * that loses a race with another receiver (deadlock, serialization failure) is run again from
 * the start, a few times, before its jobs fail. Dialect differences come from `DialectSpec`.
 *
 * @example
 * const store = createKyselyStore({ kysely, dialect: POSTGRES, owned: true });
 */
export function createKyselyStore(options: KyselyStoreOptions): ClerkSyncStore {
  const { kysely: db, dialect } = options;
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const maxAttempts = options.maxAttempts ?? 10;
  const statements = new Statements(dialect);
  const planBatches = new PlanBatches(db, new PlanBatchSql(dialect), {
    begin: dialect.session.begin(lockTimeoutMs, options.setUp ?? false),
    lockTimeoutMs,
    lockTimeoutQuery: dialect.session.lockTimeoutQuery(lockTimeoutMs),
    isTransient: (error) => isTransient(dialect, error),
    prepare: options.prepare,
  });
  const lockTimeout = dialect.session.lockTimeout(lockTimeoutMs);
  let closed = false;

  async function migrationSchema(): Promise<string | undefined> {
    if (options.schema !== undefined || dialect.session.currentSchemaQuery === undefined) return options.schema;
    const { rows } = await db.executeQuery<{ schema: string | null }>(
      CompiledQuery.raw(dialect.session.currentSchemaQuery),
    );
    const schema = rows[0]?.schema;
    if (schema == null) {
      throw new ClerkSyncError(
        "invalid_config",
        "The database connection has no schema to create tables in: its search_path names no existing schema",
      );
    }
    return schema;
  }

  /** The batch set-based when it can be (and `setBased`), and when that succeeds; else job by job. */
  async function attempt<T>(jobs: readonly BatchJob<T, Db>[], setBased: boolean): Promise<Settled<T>[]> {
    const order = lockOrder(jobs);
    const plans = setBased ? setBasedPlans(jobs, order) : undefined;
    if (plans !== undefined) {
      try {
        const outcomes = await planBatches.run(plans);
        const results: Settled<T>[] = new Array(jobs.length);
        // A plan job's value is its delivery's outcome.
        order.forEach((index, i) => {
          results[index] = { ok: true, value: outcomes[i] as T };
        });
        return results;
      } catch (error) {
        if (isTransient(dialect, error)) throw error;
        // Another receiver recorded one of the deliveries or inserted one of the rows meanwhile,
        // or a delivery cannot be written: the batch, rolled back, runs job by job.
      }
    }
    return attemptJobByJob(jobs, order);
  }

  async function attemptJobByJob<T>(jobs: readonly BatchJob<T, Db>[], order: readonly number[]): Promise<Settled<T>[]> {
    const trx = await db.startTransaction().setIsolationLevel("read committed").execute();
    try {
      if (lockTimeout !== undefined) await trx.executeQuery(CompiledQuery.raw(lockTimeout));
      const results = await runJobsInSavepoints(trx, jobs, order, dialect, statements);
      await trx.commit().execute();
      return results;
    } catch (error) {
      if (!trx.isCommitted && !trx.isRolledBack)
        await trx
          .rollback()
          .execute()
          .catch(() => undefined);
      throw error;
    }
  }

  /**
   * Runs `jobs` as one batch, again (after a jittered back-off) while it loses races, within
   * bounds. Set-based only on the first run, if `setBased`: the runs after a lost race go job by
   * job, whose statements take their locks in the order the sync rules write.
   */
  async function retried<T>(jobs: readonly BatchJob<T, Db>[], setBased: boolean): Promise<Settled<T>[]> {
    const started = Date.now();
    for (let run = 1; ; run++) {
      try {
        if (closed) throw new Error("The store is closed");
        return await attempt(jobs, setBased && run === 1);
      } catch (error) {
        const again = run < maxAttempts && Date.now() - started < lockTimeoutMs && isTransient(dialect, error);
        if (!again) return jobs.map(() => ({ ok: false, error }));
        // Jittered back-off so that the receivers that collided do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** run));
      }
    }
  }

  return {
    dialect,
    db,
    maxConcurrentBatches: options.maxConcurrentBatches ?? 4,
    async migrate() {
      return migrate(db as Kysely<unknown>, dialect, { schema: await migrationSchema() });
    },
    async pendingMigrations() {
      return pendingMigrations(db as Kysely<unknown>, dialect, { schema: await migrationSchema() });
    },
    async ping() {
      if (closed) throw new Error("The store is closed");
      await sql`select 1`.execute(db);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (options.owned) await db.destroy();
    },
    async runBatch<T>(jobs: readonly BatchJob<T, Db>[]): Promise<Settled<T>[]> {
      if (jobs.length === 1) return retried(jobs, true);
      try {
        if (closed) throw new Error("The store is closed");
        return await attempt(jobs, true);
      } catch (error) {
        if (!isTransient(dialect, error)) return jobs.map(() => ({ ok: false, error }));
      }
      // The batch lost a race with another receiver (deadlock, lock timeout). Run again whole, it
      // may lose again and again: its locks span many rows, and a set-based statement takes them
      // in an order PostgreSQL does not promise (its data-modifying WITH parts run concurrently).
      // One job per transaction, in lock order, each retried on its own, holds few locks at once.
      const results: Settled<T>[] = new Array(jobs.length);
      for (const index of lockOrder(jobs)) {
        const [result] = await retried([jobs[index] as BatchJob<T, Db>], false);
        results[index] = result as Settled<T>;
      }
      return results;
    },
  };
}

/**
 * The order to run a batch's jobs in: by `lockOrder` (stable, jobs without one first in
 * submission order), so that concurrent batches on several receivers take row locks in the
 * same order.
 */
function lockOrder(jobs: readonly BatchJob<unknown, Db>[]): number[] {
  const key = (i: number) => jobs[i]?.lockOrder ?? "";
  return jobs.map((_, i) => i).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a - b));
}
