import { CompiledQuery, type ControlledTransaction, type Kysely, sql } from "kysely";
import { ClerkSyncError } from "../core/errors.js";
import type { ChildSet } from "../core/mappers.js";
import {
  CHILD_TABLES,
  type ChildTableName,
  type DeliveryStatus,
  ENTITY_TABLES,
  type EntityTableName,
} from "../core/schema.js";
import type {
  BatchJob,
  ClaimResult,
  DeliveryRecord,
  EntityState,
  Settled,
  SyncTransaction,
} from "../core/transaction.js";
import type { ClerkSyncDatabase } from "./database.js";
import type { DialectSpec } from "./dialects.js";
import { migrate, pendingMigrations } from "./migrations.js";
import type { ClerkSyncStore } from "./store.js";

type Db = Kysely<ClerkSyncDatabase>;
type Trx = ControlledTransaction<ClerkSyncDatabase>;

/** How a network database's store is built; see `openPostgresStore` and `openMysqlStore`. */
export interface KyselyStoreOptions {
  /** A Kysely instance on a connection pool. */
  kysely: Db;
  dialect: DialectSpec;
  /** Whether `close()` destroys `kysely` (false when the caller owns it). */
  owned: boolean;
  /** The schema the tables live in, when it is known and not the connection's default. */
  schema?: string | undefined;
  /** Longest wait for a row lock held by another transaction, in ms. Default 5000. */
  lockTimeoutMs?: number | undefined;
  /** Runs of a batch that lost a race (deadlock, serialization failure) before it fails. Default 5. */
  maxAttempts?: number | undefined;
  /** Batches under way at once, each on its own pooled connection. Default 4. */
  maxConcurrentBatches?: number | undefined;
}

/**
 * Marks a delivery row claimed by a transaction still in progress. Never committed: the job
 * either finishes the delivery (the row gets its status) or its savepoint rolls the row back.
 */
const CLAIMED = "processing";
/** Version of a placeholder row `readState` inserts to lock an absent id (see `readState`). */
const ABSENT = -1;
/** Longest error message stored (MySQL's `text` holds 64 KiB). */
const MAX_ERROR_MESSAGE = 4000;

/**
 * A store on a connection pool (PostgreSQL, MySQL/MariaDB) through Kysely. A batch is one
 * transaction on one connection (READ COMMITTED), each job in its own savepoint; a batch that
 * loses a race with another receiver (deadlock, serialization failure) is run again from the
 * start, a few times, before its jobs fail. Dialect differences come from `DialectSpec`.
 *
 * @example
 * const store = createKyselyStore({ kysely, dialect: POSTGRES, owned: true });
 */
export function createKyselyStore(options: KyselyStoreOptions): ClerkSyncStore {
  const { kysely: db, dialect } = options;
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  const maxAttempts = options.maxAttempts ?? 5;
  const statements = new Statements(dialect);
  const lockTimeout = dialect.lockTimeout(lockTimeoutMs);
  let closed = false;

  async function migrationSchema(): Promise<string | undefined> {
    if (options.schema !== undefined || dialect.currentSchemaQuery === undefined) return options.schema;
    const { rows } = await db.executeQuery<{ schema: string | null }>(CompiledQuery.raw(dialect.currentSchemaQuery));
    const schema = rows[0]?.schema;
    if (schema == null) {
      throw new ClerkSyncError(
        "invalid_config",
        "The database connection has no schema to create tables in: its search_path names no existing schema",
      );
    }
    return schema;
  }

  async function attempt<T>(jobs: readonly BatchJob<T, Db>[]): Promise<Settled<T>[]> {
    const trx = await db.startTransaction().setIsolationLevel("read committed").execute();
    try {
      if (lockTimeout !== undefined) await trx.executeQuery(CompiledQuery.raw(lockTimeout));
      const results: Settled<T>[] = new Array(jobs.length);
      for (const index of lockOrder(jobs)) {
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
      const started = Date.now();
      for (let run = 1; ; run++) {
        try {
          if (closed) throw new Error("The store is closed");
          return await attempt(jobs);
        } catch (error) {
          const again = run < maxAttempts && Date.now() - started < lockTimeoutMs && isTransient(dialect, error);
          if (!again) return jobs.map(() => ({ ok: false, error }));
          // Jittered back-off so that the receivers that collided do not collide again.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** run));
        }
      }
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

/** Whether `error` or any error in its cause chain (a hook's query, say) is a lost race. */
function isTransient(dialect: DialectSpec, error: unknown): boolean {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (dialect.isTransient(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The write path's SQL for one dialect, built once per table. */
class Statements {
  readonly #d: DialectSpec;
  readonly #cache = new Map<string, string>();

  constructor(dialect: DialectSpec) {
    this.#d = dialect;
  }

  #get(key: string, build: () => string): string {
    let text = this.#cache.get(key);
    if (text === undefined) {
      text = build();
      this.#cache.set(key, text);
    }
    return text;
  }

  readonly #shapes = new Map<string, { text: string; returns: boolean }>();

  #getShape(key: string, build: () => { text: string; returns: boolean }) {
    let shape = this.#shapes.get(key);
    if (shape === undefined) {
      shape = build();
      this.#shapes.set(key, shape);
    }
    return shape;
  }

  #q = (name: string) => this.#d.quote(name);
  #params = (count: number, from = 1) => Array.from({ length: count }, (_, i) => this.#d.placeholder(from + i));
  #list = (names: readonly string[]) => names.map(this.#q).join(", ");

  #insert(table: string, columns: readonly string[], rows = 1): string {
    const tuples = Array.from({ length: rows }, (_, r) => `(${this.#params(columns.length, 1 + r * columns.length)})`);
    return `INSERT INTO ${this.#q(table)} (${this.#list(columns)}) VALUES ${tuples.join(", ")}`;
  }

  static readonly DELIVERY_COLUMNS = [
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

  /**
   * An `INSERT` of one row that, on a key conflict, locks the stored row instead; with
   * `returning`, the statement also answers the stored (or inserted) row's `returning` columns
   * through a no-op update of `noop` (a column outside every index, so the update stays cheap).
   */
  #insertOrLock(table: string, columns: readonly string[], key: string, noop: string, returning: readonly string[]) {
    const d = this.#d;
    const ret = d.returning(returning);
    if (ret === undefined) return { text: `${this.#insert(table, columns)} ${d.onConflictKeep(key)}`, returns: false };
    const update = d.onConflictUpdate(key, [`${this.#q(noop)} = ${d.stored(table, noop)}`]);
    return { text: `${this.#insert(table, columns)} ${update} ${ret}`, returns: true };
  }

  /** Inserts the delivery row as claimed, or locks the stored one (and answers its status if it can). */
  claim(): { text: string; returns: boolean } {
    return this.#getShape("claim", () =>
      this.#insertOrLock("clerk_webhook_events", Statements.DELIVERY_COLUMNS, "svix_id", "delivery_count", ["status"]),
    );
  }

  deliveryStatus(): string {
    return this.#get(
      "deliveryStatus",
      () =>
        `SELECT ${this.#q("status")} FROM ${this.#q("clerk_webhook_events")} WHERE ${this.#q("svix_id")} = ${this.#d.placeholder(1)}${this.#d.lockRows}`,
    );
  }

  /** Sets `columns` (bind parameters in order) and `extra` SQL on the delivery row. */
  #updateDelivery(columns: readonly string[], extra: readonly string[]): string {
    const sets = [...columns.map((c, i) => `${this.#q(c)} = ${this.#d.placeholder(i + 1)}`), ...extra];
    return `UPDATE ${this.#q("clerk_webhook_events")} SET ${sets.join(", ")} WHERE ${this.#q("svix_id")} = ${this.#d.placeholder(columns.length + 1)}`;
  }

  countDuplicate(): string {
    const count = this.#q("delivery_count");
    return this.#get("countDuplicate", () =>
      this.#updateDelivery(["last_received_at", "last_outcome"], [`${count} = ${count} + 1`]),
    );
  }

  finishNew(): string {
    return this.#get("finishNew", () => this.#updateDelivery(["status", "last_outcome"], []));
  }

  finishRetry(): string {
    const count = this.#q("delivery_count");
    return this.#get("finishRetry", () =>
      this.#updateDelivery(
        ["status", "last_outcome", "last_received_at", "error_code", "error_message"],
        [`${count} = ${count} + 1`],
      ),
    );
  }

  /** Inserts a `failed` row, or counts the attempt on a stored one (its error only if it is `failed`). */
  recordFailure(): string {
    return this.#get("recordFailure", () => {
      const d = this.#d;
      const table = "clerk_webhook_events";
      const stored = (c: string) => d.stored(table, c);
      const ifFailed = (c: string, value: string) =>
        `${this.#q(c)} = CASE WHEN ${stored("status")} = 'failed' THEN ${value} ELSE ${stored(c)} END`;
      const assignments = [
        `${this.#q("delivery_count")} = ${stored("delivery_count")} + 1`,
        `${this.#q("last_received_at")} = ${d.incoming("last_received_at")}`,
        ifFailed("error_code", d.incoming("error_code")),
        ifFailed("error_message", d.incoming("error_message")),
        ifFailed("last_outcome", "'failed'"),
      ];
      return `${this.#insert(table, Statements.DELIVERY_COLUMNS)} ${d.onConflictUpdate("svix_id", assignments)}`;
    });
  }

  /** Inserts a placeholder row (version -1) or locks the stored one (and answers its state if it can). */
  placeholder(table: EntityTableName): { text: string; returns: boolean } {
    return this.#getShape(`placeholder:${table}`, () =>
      this.#insertOrLock(table, ["id", "version"], "id", "version", ["version", "deleted_at"]),
    );
  }

  readState(table: EntityTableName): string {
    return this.#get(
      `state:${table}`,
      () =>
        `SELECT ${this.#list(["version", "deleted_at"])} FROM ${this.#q(table)} WHERE ${this.#q("id")} = ${this.#d.placeholder(1)}${this.#d.lockRows}`,
    );
  }

  upsert(table: EntityTableName): string {
    return this.#get(`upsert:${table}`, () => {
      const all = ["id", "version", ...Object.keys(ENTITY_TABLES[table].columns)];
      const sets = all.slice(1).map((c) => `${this.#q(c)} = ${this.#d.incoming(c)}`);
      return `${this.#insert(table, all)} ${this.#d.onConflictUpdate("id", sets)}`;
    });
  }

  markDeleted(table: EntityTableName, hard: boolean): string {
    return this.#get(`delete:${table}:${hard}`, () => {
      const d = this.#d;
      const def = ENTITY_TABLES[table];
      const deletedAt = this.#q("deleted_at");
      const sets = [
        `${deletedAt} = ${d.greatest}(COALESCE(${d.stored(table, "deleted_at")}, 0), ${d.incoming("deleted_at")})`,
      ];
      if (hard) {
        sets.push(`${this.#q("version")} = ${d.incoming("deleted_at")}`);
        for (const c of Object.keys(def.columns)) if (!def.keep?.includes(c)) sets.push(`${this.#q(c)} = NULL`);
      } else {
        // A placeholder left by readState (version -1) becomes a bare tombstone (version 0).
        sets.push(`${this.#q("version")} = ${d.greatest}(${d.stored(table, "version")}, ${d.incoming("version")})`);
      }
      return `${this.#insert(table, ["id", "version", "deleted_at"])} ${d.onConflictUpdate("id", sets)}`;
    });
  }

  insertChildren(table: ChildTableName, rows: number): string {
    return this.#get(`child:${table}:${rows}`, () => {
      const names = Object.keys(CHILD_TABLES[table].columns);
      const sets = names.filter((c) => c !== "id").map((c) => `${this.#q(c)} = ${this.#d.incoming(c)}`);
      return `${this.#insert(table, names, rows)} ${this.#d.onConflictUpdate("id", sets)}`;
    });
  }

  deleteChildren(table: ChildTableName): string {
    return this.#get(
      `unchild:${table}`,
      () =>
        `DELETE FROM ${this.#q(table)} WHERE ${this.#q(CHILD_TABLES[table].parentColumn)} = ${this.#d.placeholder(1)}`,
    );
  }
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

  #deliveryParams(record: DeliveryRecord, status: string, error: { code: string; message: string } | null) {
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

  /**
   * Inserts the delivery row as claimed, or, when the id is stored, locks the stored row. A
   * claim by another transaction still in progress makes this wait for its commit (then the
   * delivery is a duplicate, or a retry if that one failed) or its rollback (then this claim
   * goes through).
   */
  async claimDelivery(record: DeliveryRecord): Promise<ClaimResult> {
    const claim = this.#sql.claim();
    let [row] = await this.#run<{ status: string }>(claim.text, this.#deliveryParams(record, CLAIMED, null));
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
      await this.#run(this.#sql.finishRetry(), [status, status, claim.record.receivedAt, null, null, svixId]);
    } else {
      await this.#run(this.#sql.finishNew(), [status, status, svixId]);
    }
  }

  async recordFailure(record: DeliveryRecord, error: { code: string; message: string }): Promise<void> {
    await this.#run(this.#sql.recordFailure(), this.#deliveryParams(record, "failed", error));
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
    const columns = ENTITY_TABLES[table].columns;
    const params: unknown[] = [id, version];
    for (const [name, type] of Object.entries(columns)) params.push(this.#d.encode(type, values[name]));
    await this.#run(this.#sql.upsert(table), params);
  }

  async markDeleted(table: EntityTableName, id: string, deletedAt: number, hard: boolean): Promise<void> {
    await this.#run(this.#sql.markDeleted(table, hard), [id, hard ? deletedAt : 0, deletedAt]);
  }

  async replaceChildren(set: ChildSet): Promise<void> {
    await this.deleteChildren(set.table, set.parentId);
    // One statement for all rows; an id listed twice keeps its last row, as row-by-row upserts would.
    const rows = [...new Map(set.rows.map((row) => [row.id, row])).values()];
    if (rows.length === 0) return;
    const columns = CHILD_TABLES[set.table].columns;
    const params: unknown[] = [];
    for (const row of rows)
      for (const [name, type] of Object.entries(columns)) params.push(this.#d.encode(type, row[name]));
    await this.#run(this.#sql.insertChildren(set.table, rows.length), params);
  }

  async deleteChildren(table: ChildTableName, parentId: string): Promise<void> {
    await this.#run(this.#sql.deleteChildren(table), [parentId]);
  }
}
