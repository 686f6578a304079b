import type { ChildSet, Mutation } from "../../core/mappers.js";
import type { ChildTableName, DeliveryOutcome, DeliveryStatus, EntityTableName } from "../../core/schema.js";
import type {
  ClaimResult,
  DeliveryPlan,
  DeliveryRecord,
  EntityState,
  SyncTransaction,
} from "../../core/store-contract.js";
import { applyDelivery, applySnapshot, type SnapshotOutcome } from "../../core/sync-rules.js";
import { stateAfterDelete, stateAfterUpsert } from "../write/write-sql.js";

/** The stored rows a set-based batch read (and locked) before deciding. */
export interface LockedRows {
  /** The stored status of each of the batch's delivery ids that is recorded already. */
  readonly deliveries: ReadonlyMap<string, string>;
  /** The stored `delivery_count` of each of those (attempts are numbered after it). */
  readonly deliveryCounts?: ReadonlyMap<string, number>;
  /** The state of each of the batch's entity rows that exists, by {@link entityKey}. */
  readonly entities: ReadonlyMap<string, EntityState>;
}

export const entityKey = (table: EntityTableName, id: string): string => `${table}\u0000${id}`;

/**
 * A write to one entity row. `exists`: whether the row was there when the write comes (read
 * locked, or written earlier in the batch); a write to an absent row is a plain `INSERT`, which
 * fails if another transaction inserted the id meanwhile, rather than overwrite its row.
 */
export type EntityWrite =
  | {
      readonly op: "upsert";
      readonly table: EntityTableName;
      readonly id: string;
      readonly exists: boolean;
      readonly version: number;
      readonly values: Record<string, unknown>;
    }
  | {
      readonly op: "delete";
      readonly table: EntityTableName;
      readonly id: string;
      readonly exists: boolean;
      readonly deletedAt: number;
      readonly hard: boolean;
    };

/** What becomes of a delivery row: inserted with its outcome, or a stored row updated. */
export type DeliveryWrite = (
  | { readonly op: "insert" | "retry"; readonly record: DeliveryRecord; readonly status: DeliveryStatus }
  | { readonly op: "duplicate"; readonly record: DeliveryRecord }
) & {
  /** The attempt's number: the delivery row's `delivery_count` after the write. */
  readonly attempt: number;
};

/** A child table's writes: every child row of `cleared` parents removed, then `rows` upserted by id. */
export interface ChildWrites {
  readonly cleared: Set<string>;
  readonly rows: Map<unknown, Record<string, unknown>>;
}

/** A batch's whole effect, decided: what the set-based statements write. */
export interface BatchWrites {
  readonly deliveries: DeliveryWrite[];
  /**
   * Entity writes in rounds: a row's first write is in round 0, its second (a delivery that
   * writes a row twice, e.g. a membership's last state then its tombstone) in round 1, and so on.
   * Writes of one round touch distinct rows.
   */
  readonly rounds: EntityWrite[][];
  readonly children: Map<ChildTableName, ChildWrites>;
}

/**
 * Decides a batch of plans without touching the database: runs {@link applyDelivery} for each
 * plan, in order, against the rows read beforehand, and records the writes it asks for instead
 * of running them. Each plan sees the effect of the plans before it, as in a transaction.
 */
export async function decidePlans(
  plans: readonly DeliveryPlan[],
  locked: LockedRows,
): Promise<{ outcomes: DeliveryOutcome[]; writes: BatchWrites }> {
  const recorder = new PlanRecorder(locked);
  const outcomes: DeliveryOutcome[] = [];
  for (const plan of plans) outcomes.push(await applyDelivery(recorder, plan));
  return { outcomes, writes: recorder.writes };
}

/**
 * Decides a page of Backend API snapshots the same way: {@link applySnapshot} for each mutation,
 * in order, against the rows read beforehand, recording the writes.
 */
export async function decideSnapshots(
  mutations: readonly Mutation[],
  hard: boolean,
  locked: LockedRows,
): Promise<{ outcomes: SnapshotOutcome[]; writes: BatchWrites }> {
  const recorder = new PlanRecorder(locked);
  const outcomes: SnapshotOutcome[] = [];
  for (const m of mutations) outcomes.push(await applySnapshot(recorder, m, hard));
  return { outcomes, writes: recorder.writes };
}

interface RowState {
  state: EntityState | undefined;
  /** Writes to the row so far in this batch. */
  writes: number;
}

/** A {@link SyncTransaction} over read rows that records writes; it runs no SQL and no hooks. */
class PlanRecorder implements SyncTransaction<never> {
  readonly writes: BatchWrites = { deliveries: [], rounds: [], children: new Map() };
  readonly #locked: LockedRows;
  readonly #rows = new Map<string, RowState>();
  /** Delivery ids claimed and not yet finished: whether each was stored as `failed`. */
  readonly #claims = new Map<string, { record: DeliveryRecord; retry: boolean }>();
  /** Delivery ids claimed in this batch: a second claim is a duplicate. */
  readonly #claimed = new Set<string>();

  constructor(locked: LockedRows) {
    this.#locked = locked;
  }

  get db(): never {
    throw new Error("A delivery plan runs no hooks: it has no database handle");
  }

  claimDelivery(record: DeliveryRecord): ClaimResult {
    const stored = this.#claimed.has(record.svixId) ? "claimed" : this.#locked.deliveries.get(record.svixId);
    // A forced replay processes a delivery id again whatever its stored outcome.
    const again = stored === "failed" || (record.source === "force" && stored !== undefined && stored !== "claimed");
    if (stored === undefined || again) {
      this.#claimed.add(record.svixId);
      this.#claims.set(record.svixId, { record, retry: again });
      return stored === undefined ? "new" : "retry";
    }
    this.writes.deliveries.push({ op: "duplicate", record, attempt: this.#attempt(record.svixId) });
    return "duplicate";
  }

  /** The number of the next attempt at a stored delivery id (the set-based batch never has one twice). */
  #attempt(svixId: string): number {
    return (this.#locked.deliveryCounts?.get(svixId) ?? 0) + 1;
  }

  finishDelivery(svixId: string, status: DeliveryStatus): void {
    const claim = this.#claims.get(svixId);
    if (!claim) throw new Error(`finishDelivery without claimDelivery for ${svixId}`);
    this.#claims.delete(svixId);
    const attempt = claim.retry ? this.#attempt(svixId) : 1;
    this.writes.deliveries.push({ op: claim.retry ? "retry" : "insert", record: claim.record, status, attempt });
  }

  recordFailure(): never {
    throw new Error("A set-based batch records no failure: a failing batch runs job by job");
  }

  #row(table: EntityTableName, id: string): RowState {
    const key = entityKey(table, id);
    let row = this.#rows.get(key);
    if (row === undefined) {
      row = { state: this.#locked.entities.get(key), writes: 0 };
      this.#rows.set(key, row);
    }
    return row;
  }

  /** Adds a write to the round after the row's earlier writes. */
  #write(row: RowState, write: EntityWrite): void {
    const rounds = this.writes.rounds;
    while (rounds.length <= row.writes) rounds.push([]);
    rounds[row.writes]?.push(write);
    row.writes++;
  }

  readState(table: EntityTableName, id: string): EntityState | undefined {
    return this.#row(table, id).state;
  }

  upsertEntity(table: EntityTableName, id: string, version: number, values: Record<string, unknown>): void {
    const row = this.#row(table, id);
    this.#write(row, { op: "upsert", table, id, exists: row.state !== undefined, version, values });
    row.state = stateAfterUpsert(row.state, version);
  }

  /** As the store's `markDeleted` (see {@link stateAfterDelete}). */
  markDeleted(table: EntityTableName, id: string, deletedAt: number, hard: boolean): void {
    const row = this.#row(table, id);
    const stored = row.state;
    this.#write(row, { op: "delete", table, id, exists: stored !== undefined, deletedAt, hard });
    row.state = stateAfterDelete(stored, deletedAt, hard);
  }

  #children(table: ChildTableName): ChildWrites {
    let writes = this.writes.children.get(table);
    if (writes === undefined) {
      writes = { cleared: new Set(), rows: new Map() };
      this.writes.children.set(table, writes);
    }
    return writes;
  }

  /**
   * Clears a parent's children. The batch removes the stored children of every cleared parent
   * before it writes new ones, which is the order of the plans only if no parent is cleared twice
   * (eligible batches never do; the batch then runs job by job).
   */
  #clear(table: ChildTableName, parentId: string): ChildWrites {
    const writes = this.#children(table);
    if (writes.cleared.has(parentId)) throw new Error(`The children of ${parentId} are replaced twice in one batch`);
    writes.cleared.add(parentId);
    return writes;
  }

  replaceChildren(set: ChildSet): void {
    const writes = this.#clear(set.table, set.parentId);
    // A child id written twice keeps its last row, as row-by-row upserts would.
    for (const row of set.rows) writes.rows.set(row.id, row);
  }

  deleteChildren(table: ChildTableName, parentId: string): void {
    this.#clear(table, parentId);
  }
}
