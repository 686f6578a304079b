import { CompiledQuery, type Kysely } from "kysely";
import type { Mutation } from "../../core/mappers.js";
import { CHILD_TABLES, type ChildTableName, type DeliveryOutcome, type EntityTableName } from "../../core/schema.js";
import type { DeliveryPlan } from "../../core/store-contract.js";
import type { SnapshotOutcome } from "../../core/sync-rules.js";
import type { ClerkSyncDatabase } from "../schema/database.js";
import type { BoundStatement } from "../write/write-sql.js";
import { decidePlans, decideSnapshots, entityKey, type LockedRows } from "./plan-recorder.js";
import type { SetBasedStatements } from "./set-based-statements.js";

/**
 * The plans of a batch the set-based path can run, in `order`, or undefined when it must run
 * delivery by delivery: a delivery id twice, an entity row written by two
 * deliveries, or a parent's children replaced twice. (One delivery may write a row twice: a
 * membership's last state, then its tombstone.)
 */
export function setBasedPlans(plans: readonly DeliveryPlan[], order: readonly number[]): DeliveryPlan[] | undefined {
  const svixIds = new Set<string>();
  const writers = new Map<string, number>();
  const parents = new Set<string>();
  const ordered: DeliveryPlan[] = [];
  const clears = (table: ChildTableName, parentId: string, rows: readonly Record<string, unknown>[] = []) => {
    const key = `${table}\u0000${parentId}`;
    if (parents.has(key)) return false;
    parents.add(key);
    // The batch clears children by parent: each row must name the parent it is written for.
    const column = CHILD_TABLES[table].parentColumn;
    return rows.every((row) => row[column] === parentId);
  };
  for (const index of order) {
    const plan = plans[index] as DeliveryPlan;
    if (svixIds.has(plan.record.svixId)) return undefined;
    svixIds.add(plan.record.svixId);
    for (const m of plan.mutations) {
      const key = entityKey(m.table, m.id);
      if ((writers.get(key) ?? index) !== index) return undefined;
      writers.set(key, index);
      const fits =
        m.op === "upsert"
          ? m.children.every((set) => clears(set.table, set.parentId, set.rows))
          : m.children.every((table) => clears(table, m.id));
      if (!fits) return undefined;
    }
    ordered.push(plan);
  }
  return ordered;
}

/** The stored rows of a batch that inserts everything: none. */
const NOTHING_STORED: LockedRows = { deliveries: new Map(), entities: new Map() };

/** How {@link PlanBatches} opens its transactions and bounds lock waits. */
export interface PlanBatchOptions {
  /** The statements that open a transaction (`DialectSpec.begin`). */
  readonly begin: readonly string[];
  readonly lockTimeoutMs: number;
  /** The primary query that bounds a single-statement batch's lock waits (`DialectSession.lockTimeoutQuery`). */
  readonly lockTimeoutQuery: string | undefined;
  /** Whether a lost race (deadlock, lock timeout) is in `error`: the whole batch is then run again. */
  readonly isTransient: (error: unknown) => boolean;
  /** Asks for a statement text to be sent prepared, where the store can (`PreparedTexts`). */
  readonly prepare?: ((text: string) => void) | undefined;
}

/**
 * Applies batches of plans set-based, each on one connection, in one of two ways.
 *
 * Locking (the general way), in one transaction: one statement reads and locks every stored
 * row the plans touch; {@link decidePlans} runs the sync rules against those rows; the writes go
 * as a few multi-row statements (one on PostgreSQL). Four round trips per batch on PostgreSQL.
 *
 * Blind (when everything is new, as most deliveries of a burst of sign-ups are): the plans are
 * decided as if nothing were stored, and the writes go at once, without reading first: on
 * PostgreSQL as one statement, its own transaction (one round trip). If anything was stored
 * after all, a plain `INSERT` fails and nothing is written; the batch then runs the locking way.
 * Blind is tried while it succeeds, and after a failure only now and then.
 *
 * Either way, rows that were absent are written with plain `INSERT`s: if another receiver
 * inserted one of them (or recorded one of the deliveries) meanwhile, the statement waits for it
 * and then fails, and the transaction rolls back, as on any error; the caller then runs the
 * batch delivery by delivery, where every delivery fails or succeeds alone.
 */
export class PlanBatches {
  readonly #db: Kysely<ClerkSyncDatabase>;
  readonly #sql: SetBasedStatements;
  readonly #options: PlanBatchOptions;
  /** Batches since the last blind one that failed, if the last blind one failed. */
  #sinceBlindMiss: number | undefined;

  constructor(db: Kysely<ClerkSyncDatabase>, sql: SetBasedStatements, options: PlanBatchOptions) {
    this.#db = db;
    this.#sql = sql;
    this.#options = options;
  }

  /** Applies `plans` (from {@link setBasedPlans}), answering their outcomes in order. */
  run(plans: readonly DeliveryPlan[]): Promise<DeliveryOutcome[]> {
    return this.#db.connection().execute(async (conn) => {
      const run = this.#runner(conn);
      if (this.#tryBlind()) {
        const outcomes = await this.#blind(run, plans);
        this.#sinceBlindMiss = outcomes === undefined ? 0 : undefined;
        if (outcomes !== undefined) return outcomes;
      }
      return this.#locking(run, plans);
    });
  }

  /**
   * Applies a page of Backend API snapshots (each mutation through `applySnapshot`) the locking
   * way, in one transaction on one connection, then runs `checkpoint` on that connection before
   * the commit (a backfill's cursor, committed with the rows). Answers each mutation's outcome.
   * Like a batch of plans, it fails whole (nothing written) when another transaction inserted
   * one of its absent rows meanwhile; the caller then writes the page row by row.
   */
  runSnapshots(
    mutations: readonly Mutation[],
    hard: boolean,
    checkpoint?: (outcomes: readonly SnapshotOutcome[], db: Kysely<ClerkSyncDatabase>) => Promise<void>,
  ): Promise<SnapshotOutcome[]> {
    return this.#db.connection().execute(async (conn) => {
      const run = this.#runner(conn);
      const { tables, ids } = idsByTable(mutations);
      return this.#transaction(run, async () => {
        const read: Record<string, unknown>[] = [];
        for (const statement of this.#sql.lockRows([], ids)) read.push(...(await run(statement)));
        const { outcomes, writes } = await decideSnapshots(mutations, hard, this.#sql.lockedRows(read, tables));
        for (const statement of this.#sql.writes(writes)) await run(statement);
        await checkpoint?.(outcomes, conn);
        return outcomes;
      });
    });
  }

  /** Runs one statement on `conn`, sending it prepared when it has values (BEGIN, COMMIT go by the simple protocol). */
  #runner(conn: Kysely<ClerkSyncDatabase>): Run {
    return async (s: BoundStatement) => {
      if (s.values.length > 0) this.#options.prepare?.(s.text);
      return (await conn.executeQuery<Record<string, unknown>>(CompiledQuery.raw(s.text, s.values))).rows;
    };
  }

  /** While blind batches succeed, every batch; after a miss, one in {@link BLIND_PROBE_EVERY}. */
  #tryBlind(): boolean {
    if (this.#sinceBlindMiss === undefined) return true;
    this.#sinceBlindMiss++;
    return this.#sinceBlindMiss % BLIND_PROBE_EVERY === 0;
  }

  /** The batch written as if nothing were stored; undefined if something was (nothing written). */
  async #blind(run: Run, plans: readonly DeliveryPlan[]): Promise<DeliveryOutcome[] | undefined> {
    const { outcomes, writes } = await decidePlans(plans, NOTHING_STORED);
    const single = this.#sql.autocommitWrites(writes, this.#options.lockTimeoutQuery);
    try {
      if (single !== undefined) {
        await run(single);
        return outcomes;
      }
      await this.#transaction(run, async () => {
        for (const statement of this.#sql.writes(writes)) await run(statement);
      });
      return outcomes;
    } catch (error) {
      if (this.#options.isTransient(error)) throw error;
      return undefined;
    }
  }

  async #locking(run: Run, plans: readonly DeliveryPlan[]): Promise<DeliveryOutcome[]> {
    const svixIds = plans.map((p) => p.record.svixId).sort();
    const { tables, ids } = idsByTable(plans.flatMap((plan) => plan.mutations));
    return this.#transaction(run, async () => {
      const read: Record<string, unknown>[] = [];
      for (const statement of this.#sql.lockRows(svixIds, ids)) read.push(...(await run(statement)));
      const locked = this.#sql.lockedRows(read, tables);
      const { outcomes, writes } = await decidePlans(plans, locked);
      for (const statement of this.#sql.writes(writes)) await run(statement);
      return outcomes;
    });
  }

  /** Runs `body` in a transaction: committed if it returns, rolled back if it throws. */
  async #transaction<T>(run: Run, body: () => Promise<T>): Promise<T> {
    try {
      for (const text of this.#options.begin) await run({ text, values: [] });
      const result = await body();
      await run({ text: "COMMIT", values: [] });
      return result;
    } catch (error) {
      await run({ text: "ROLLBACK", values: [] }).catch(() => undefined);
      throw error;
    }
  }
}

/** The rows `mutations` write, by table, in key order (the order rows are locked in). */
function idsByTable(mutations: readonly Mutation[]) {
  const idSets = new Map<EntityTableName, Set<string>>();
  for (const m of mutations) {
    const ids = idSets.get(m.table) ?? new Set<string>();
    idSets.set(m.table, ids.add(m.id));
  }
  const tables = [...idSets.keys()].sort();
  const ids = new Map(tables.map((table) => [table, [...(idSets.get(table) ?? [])].sort()]));
  return { tables, ids };
}

/** After a blind batch found rows stored, how often a batch tries blind again. */
const BLIND_PROBE_EVERY = 8;

type Run = (s: BoundStatement) => Promise<Record<string, unknown>[]>;
