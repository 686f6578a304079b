import { CHILD_TABLES, type ChildTableName, type EntityTableName } from "../../core/schema.js";
import type { EntityState } from "../../core/store-contract.js";
import type { DialectSpec } from "../dialect.js";
import { type BatchWrites, type ChildWrites, type EntityWrite, entityKey, type LockedRows } from "./plan-recorder.js";
import {
  childColumns,
  childRow,
  DELIVERIES,
  DELIVERY_COLUMNS,
  deliveryRow,
  entityColumns,
  entityRow,
  Shapes,
  TOMBSTONE_COLUMNS,
  tombstoneRow,
} from "./write-rows.js";

/** One statement: SQL and its bind values. */
export interface Statement {
  readonly text: string;
  readonly values: unknown[];
}

/** Numbers a statement's bind parameters as they are added. */
class Binds {
  readonly values: unknown[] = [];
  constructor(private readonly dialect: DialectSpec) {}

  add(value: unknown): string {
    this.values.push(value);
    return this.dialect.syntax.placeholder(this.values.length);
  }

  /** `(…, …)`: one placeholder per value. */
  tuple(values: readonly unknown[]): string {
    return `(${values.map((v) => this.add(v)).join(", ")})`;
  }
}

/**
 * One write of a batch: its SQL built against the statement's binds. `binds` is how many values
 * it adds; `combined`: it shares one statement with the round's other writes (PostgreSQL).
 */
interface Part {
  readonly binds: number;
  build(b: Binds, combined: boolean): string;
}

type Row = readonly unknown[];

const byFirst = (a: Row, b: Row) => {
  const x = String(a[0]);
  const y = String(b[0]);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * The SQL of the set-based batch (see plan-batch.ts): one statement reads and locks every row
 * the batch's plans touch; the writes they decide go as one multi-row statement per table and
 * kind, which PostgreSQL runs as a single statement (data-modifying `WITH` queries). Rows go in
 * key order, so that receivers writing the same rows lock them in the same order.
 */
export class PlanBatchSql {
  readonly #d: DialectSpec;
  readonly #s: Shapes;

  constructor(dialect: DialectSpec) {
    this.#d = dialect;
    this.#s = new Shapes(dialect);
  }

  /**
   * Reads, locking them, the stored rows of `svixIds` and of each table's ids: one statement
   * where the dialect locks rows in subqueries, else one per table. Absent ids are not locked: the
   * batch inserts those with plain `INSERT`s, which wait for and then fail on a concurrent insert
   * of the same id.
   */
  lockRows(svixIds: readonly string[], ids: ReadonlyMap<EntityTableName, readonly string[]>): Statement[] {
    const q = this.#s.q;
    const oneStatement = this.#d.syntax.locksInSubqueries;
    let b = new Binds(this.#d);
    /** Branch `k`: the answer's columns, each read from a column of `table` or NULL. */
    const select = (
      k: number,
      table: string,
      key: string,
      keys: readonly string[],
      read: Record<string, string | null>,
    ) => {
      if (!oneStatement) b = new Binds(this.#d);
      const locking = `FROM ${q(table)} WHERE ${q(key)} IN (${keys.map((id) => b.add(id)).join(", ")})${this.#d.syntax.lockRows}`;
      // The NULLs stand outside the locking subquery, where the UNION gives them their type.
      const answer = Object.entries(read).map(([as, column]) => `${column === null ? "NULL" : q(column)} AS ${as}`);
      const from = oneStatement
        ? `FROM (SELECT ${this.#s.list(Object.values(read).filter((c) => c !== null))} ${locking}) AS t${k}`
        : locking;
      return { text: `SELECT ${k} AS k, ${answer.join(", ")} ${from}`, values: b.values };
    };
    const statements = [
      select(0, DELIVERIES, "svix_id", svixIds, { id: "svix_id", status: "status", version: null, deleted_at: null }),
    ];
    [...ids.keys()].forEach((table, i) => {
      const read = { id: "id", status: null, version: "version", deleted_at: "deleted_at" };
      statements.push(select(i + 1, table, "id", ids.get(table) ?? [], read));
    });
    if (!oneStatement) return statements;
    return [{ text: statements.map((s) => s.text).join(" UNION ALL "), values: b.values }];
  }

  /** The rows {@link lockRows} answered, as the recorder takes them; `tables` in the order of its `ids`. */
  lockedRows(rows: readonly Record<string, unknown>[], tables: readonly EntityTableName[]): LockedRows {
    const deliveries = new Map<string, string>();
    const entities = new Map<string, EntityState>();
    for (const row of rows) {
      const k = Number(row.k);
      const id = String(row.id);
      if (k === 0) {
        deliveries.set(id, String(row.status));
        continue;
      }
      const table = tables[k - 1] as EntityTableName;
      const deletedAt = row.deleted_at == null ? null : Number(row.deleted_at);
      entities.set(entityKey(table, id), { version: Number(row.version), deletedAt });
    }
    return { deliveries, entities };
  }

  /** The statements that make `writes`, in order, inside a transaction. */
  writes(writes: BatchWrites): Statement[] {
    return this.#rounds(writes).flatMap((parts) => this.#statements(parts));
  }

  /**
   * `writes` as one statement that needs no transaction around it, or undefined where it takes
   * more (a dialect without combined writes, a row written twice, too many values). `primary`
   * bounds its lock waits (`DialectSession.lockTimeoutQuery`); without one, undefined.
   */
  autocommitWrites(writes: BatchWrites, primary: string | undefined): Statement | undefined {
    const rounds = this.#rounds(writes);
    const [parts] = rounds;
    if (!this.#d.syntax.combinesWrites || primary === undefined || rounds.length !== 1 || parts === undefined) return;
    if (parts.reduce((n, p) => n + p.binds, 0) > this.#d.syntax.maxBinds) return;
    return this.#combined(parts, primary);
  }

  /** The parts of each round: the deliveries and the children go with the first. */
  #rounds(writes: BatchWrites): Part[][] {
    const first = [...this.#deliveryParts(writes), ...this.#childParts(writes)];
    if (writes.rounds.length === 0) return [first];
    return writes.rounds.map((round, i) =>
      i === 0 ? [...first, ...this.#entityParts(round)] : this.#entityParts(round),
    );
  }

  /** Parts into statements: one per round where the dialect combines writes and the binds fit. */
  #statements(parts: readonly Part[]): Statement[] {
    const total = parts.reduce((n, p) => n + p.binds, 0);
    if (this.#d.syntax.combinesWrites && parts.length > 1 && total <= this.#d.syntax.maxBinds)
      return [this.#combined(parts)];
    return parts.map((p) => {
      const b = new Binds(this.#d);
      return { text: p.build(b, false), values: b.values };
    });
  }

  /** One statement of `parts` (data-modifying `WITH` queries), its primary query the last part or `primary`. */
  #combined(parts: readonly Part[], primary?: string): Statement {
    const b = new Binds(this.#d);
    const texts = parts.map((p) => p.build(b, true));
    const last = primary ?? (texts.pop() as string);
    if (texts.length === 0) return { text: last, values: b.values };
    return { text: `WITH ${texts.map((t, i) => `w${i} AS (${t})`).join(", ")} ${last}`, values: b.values };
  }

  /** Multi-row `INSERT`s of `rows` (sorted by key), split to fit the bind limit, with `suffix`. */
  #inserts(table: string, columns: readonly string[], rows: Row[], suffix = ""): Part[] {
    if (rows.length === 0) return [];
    rows.sort(byFirst);
    const perStatement = Math.max(1, Math.floor(this.#d.syntax.maxBinds / columns.length));
    const parts: Part[] = [];
    for (let from = 0; from < rows.length; from += perStatement) {
      const chunk = rows.slice(from, from + perStatement);
      parts.push({
        binds: chunk.length * columns.length,
        build: (b) =>
          `${this.#s.insert(
            table,
            columns,
            chunk.map((r) => b.tuple(r)),
          )}${suffix && ` ${suffix}`}`,
      });
    }
    return parts;
  }

  #deliveryParts(writes: BatchWrites): Part[] {
    const inserts: Row[] = [];
    const updates: Part[] = [];
    const s = this.#s;
    for (const w of writes.deliveries) {
      if (w.op === "insert") {
        inserts.push(deliveryRow(w.record, w.status));
      } else if (w.op === "retry") {
        const { status, record } = w;
        updates.push({
          binds: 4,
          build: (b) =>
            s.updateDelivery(
              s.finishRetry([b.add(status), b.add(status), b.add(record.receivedAt)]),
              b.add(record.svixId),
            ),
        });
      } else {
        const { record } = w;
        updates.push({
          binds: 3,
          build: (b) =>
            s.updateDelivery(s.countDuplicate([b.add(record.receivedAt), b.add("duplicate")]), b.add(record.svixId)),
        });
      }
    }
    // A plain INSERT: a delivery another receiver recorded meanwhile fails the batch, which then runs job by job.
    return [...this.#inserts(DELIVERIES, DELIVERY_COLUMNS, inserts), ...updates];
  }

  #entityParts(round: readonly EntityWrite[]): Part[] {
    const byTable = new Map<EntityTableName, EntityWrite[]>();
    for (const w of round) {
      const list = byTable.get(w.table);
      if (list) list.push(w);
      else byTable.set(w.table, [w]);
    }
    const parts: Part[] = [];
    for (const table of [...byTable.keys()].sort()) {
      const inserts: Row[] = [];
      const tombstones: Row[] = [];
      const upserts: Row[] = [];
      const soft: Row[] = [];
      const hard: Row[] = [];
      for (const w of byTable.get(table) ?? []) {
        if (w.op === "upsert")
          (w.exists ? upserts : inserts).push(entityRow(this.#d, table, w.id, w.version, w.values));
        else (w.exists ? (w.hard ? hard : soft) : tombstones).push(tombstoneRow(w.id, w.deletedAt, w.hard));
      }
      const columns = entityColumns(table);
      parts.push(
        // Plain INSERTs for rows that were absent: one inserted meanwhile fails the batch (see lockRows).
        ...this.#inserts(table, columns, inserts),
        ...this.#inserts(table, TOMBSTONE_COLUMNS, tombstones),
        ...this.#inserts(table, columns, upserts, this.#s.upsertConflict(table)),
        ...this.#inserts(table, TOMBSTONE_COLUMNS, soft, this.#s.markDeletedConflict(table, false)),
        ...this.#inserts(table, TOMBSTONE_COLUMNS, hard, this.#s.markDeletedConflict(table, true)),
      );
    }
    return parts;
  }

  #childParts(writes: BatchWrites): Part[] {
    const parts: Part[] = [];
    for (const table of [...writes.children.keys()].sort()) {
      const w = writes.children.get(table) as ChildWrites;
      const rows = [...w.rows.values()].map((row) => childRow(this.#d, table, row));
      if (w.cleared.size > 0)
        parts.push(
          this.#clear(
            table,
            [...w.cleared].sort(),
            rows.map((r) => r[0]),
          ),
        );
      parts.push(...this.#inserts(table, childColumns(table), rows, this.#s.childConflict(table)));
    }
    return parts;
  }

  /**
   * Deletes the children of `parents`. Within one statement, it spares the ids the batch writes
   * (`kept`): those rows are upserted instead, and a statement must not both delete and write a row.
   */
  #clear(table: ChildTableName, parents: readonly string[], kept: readonly unknown[]): Part {
    const q = this.#s.q;
    const parent = q(CHILD_TABLES[table].parentColumn);
    return {
      binds: parents.length + kept.length,
      build: (b, combined) => {
        const sparing =
          combined && kept.length > 0 ? ` AND ${q("id")} NOT IN (${kept.map((id) => b.add(id)).join(", ")})` : "";
        return `DELETE FROM ${q(table)} WHERE ${parent} IN (${parents.map((id) => b.add(id)).join(", ")})${sparing}`;
      },
    };
  }
}
