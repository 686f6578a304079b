import { CHILD_TABLES, type EntityTableName } from "../../core/schema.js";
import type { EntityState } from "../../core/store-contract.js";
import type { DialectTypes } from "../dialect.js";
import {
  ATTEMPT_COLUMNS,
  ATTEMPTS,
  attemptRow,
  attemptsKept,
  childColumns,
  childRow,
  DELIVERIES,
  DELIVERY_COLUMNS,
  deliveryRow,
  entityColumns,
  entityRow,
  TOMBSTONE_COLUMNS,
  tombstoneRow,
} from "../write/write-rows.js";
import { type BoundStatement, Placeholders, type RowShape, type WriteSql } from "../write/write-sql.js";
import { type BatchWrites, type ChildWrites, type EntityWrite, entityKey, type LockedRows } from "./plan-recorder.js";

/**
 * One write of a batch, built as its part of a statement: its text appends its placeholders to
 * `p`, its values go in the same order. `combined`: the part shares one statement with the
 * round's other writes (where the dialect combines writes).
 */
type WritePart = (p: Placeholders, combined: boolean) => BoundStatement;

/** A part with the number of values it binds (to split statements at the dialect's limit). */
interface SizedPart {
  readonly binds: number;
  readonly build: WritePart;
}

type Row = readonly unknown[];

const byFirst = (a: Row, b: Row) => {
  const x = String(a[0]);
  const y = String(b[0]);
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * The statements of a set-based batch (see set-based-batch.ts), built from the one write
 * description (`WriteSql`): the writes a batch of plans decided go as one multi-row statement
 * per table and kind of write, which a dialect that combines writes (PostgreSQL) sends as a
 * single statement. Rows go in key order, so that receivers writing the same rows lock them in
 * the same order.
 */
export class SetBasedStatements {
  readonly #sql: WriteSql;
  readonly #types: DialectTypes;

  constructor(sql: WriteSql, types: DialectTypes) {
    this.#sql = sql;
    this.#types = types;
  }

  /** Whether rows go as column arrays (`DialectSyntax.columnArrays`) rather than `VALUES` tuples. */
  get #arrays(): boolean {
    return this.#sql.syntax.columnArrays !== undefined;
  }

  /** The locking read of a batch's delivery ids and rows (see `WriteSql.lockRows`). */
  lockRows(svixIds: readonly string[], ids: ReadonlyMap<EntityTableName, readonly string[]>): BoundStatement[] {
    return this.#sql.lockRows(svixIds, ids);
  }

  /** The rows {@link lockRows} answered, as the recorder takes them; `tables` in the order of its `ids`. */
  lockedRows(rows: readonly Record<string, unknown>[], tables: readonly EntityTableName[]): LockedRows {
    const deliveries = new Map<string, string>();
    const deliveryCounts = new Map<string, number>();
    const entities = new Map<string, EntityState>();
    for (const row of rows) {
      const k = Number(row.k);
      const id = String(row.id);
      if (k === 0) {
        deliveries.set(id, String(row.status));
        deliveryCounts.set(id, Number(row.count));
        continue;
      }
      const table = tables[k - 1] as EntityTableName;
      const deletedAt = row.deleted_at == null ? null : Number(row.deleted_at);
      entities.set(entityKey(table, id), { version: Number(row.version), deletedAt });
    }
    return { deliveries, deliveryCounts, entities };
  }

  /** The statements that make `writes`, in order, inside a transaction. */
  writes(writes: BatchWrites): BoundStatement[] {
    return this.#rounds(writes).flatMap((parts) => this.#statements(parts));
  }

  /**
   * `writes` as one statement that needs no transaction around it, or undefined where it takes
   * more (a dialect without combined writes, a row written twice, too many values). `primary`
   * bounds its lock waits (`DialectSession.lockTimeoutQuery`); without one, undefined.
   */
  autocommitWrites(writes: BatchWrites, primary: string | undefined): BoundStatement | undefined {
    const syntax = this.#sql.syntax;
    const rounds = this.#rounds(writes);
    const [parts] = rounds;
    if (!syntax.combineWrites || primary === undefined || rounds.length !== 1 || parts === undefined) return;
    if (parts.reduce((n, p) => n + p.binds, 0) > syntax.maxBinds) return;
    return this.#combined(parts, primary);
  }

  /** The parts of each round: the deliveries and the children go with the first. */
  #rounds(writes: BatchWrites): SizedPart[][] {
    const first = [...this.#deliveryParts(writes), ...this.#childParts(writes)];
    if (writes.rounds.length === 0) return [first];
    return writes.rounds.map((round, i) =>
      i === 0 ? [...first, ...this.#entityParts(round)] : this.#entityParts(round),
    );
  }

  /** Parts into statements: one per round where the dialect combines writes and the values fit. */
  #statements(parts: readonly SizedPart[]): BoundStatement[] {
    const syntax = this.#sql.syntax;
    const total = parts.reduce((n, p) => n + p.binds, 0);
    if (syntax.combineWrites && parts.length > 1 && total <= syntax.maxBinds) return [this.#combined(parts)];
    return parts.map((part) => part.build(new Placeholders(syntax), false));
  }

  /** One statement of `parts`, its primary query the last part or `primary`. */
  #combined(parts: readonly SizedPart[], primary?: string): BoundStatement {
    const syntax = this.#sql.syntax;
    const p = new Placeholders(syntax);
    const built = parts.map((part) => part.build(p, true));
    const combine = syntax.combineWrites as NonNullable<typeof syntax.combineWrites>;
    return {
      text: combine(
        built.map((b) => b.text),
        primary,
      ),
      values: built.flatMap((b) => b.values),
    };
  }

  /**
   * Multi-row writes of `rows` (sorted by key) into `columns` of `table`: one write of column
   * arrays where the dialect takes them, else `VALUES` tuples split to fit its bind limit.
   */
  #chunks(
    table: string,
    names: readonly string[],
    rows: Row[],
    text: (p: Placeholders, rows: RowShape) => string,
  ): SizedPart[] {
    if (rows.length === 0) return [];
    rows.sort(byFirst);
    const columns = names.length;
    if (this.#arrays) {
      const values = this.#sql.columnBinds(table, names, rows);
      return [{ binds: columns, build: (p) => ({ text: text(p, "arrays"), values }) }];
    }
    const perStatement = Math.max(1, Math.floor(this.#sql.syntax.maxBinds / columns));
    const parts: SizedPart[] = [];
    for (let from = 0; from < rows.length; from += perStatement) {
      const chunk = rows.slice(from, from + perStatement);
      parts.push({
        binds: chunk.length * columns,
        build: (p) => ({ text: text(p, chunk.length), values: chunk.flat() }),
      });
    }
    return parts;
  }

  #deliveryParts(writes: BatchWrites): SizedPart[] {
    const sql = this.#sql;
    const inserts: Row[] = [];
    const updates: SizedPart[] = [];
    const attempts: Row[] = [];
    for (const w of writes.deliveries) {
      attempts.push(attemptRow(w.record, w.attempt, w.op === "duplicate" ? "duplicate" : w.status));
      const keep = attemptsKept(w.record);
      if (w.attempt > keep) {
        // Rare (a delivery id attempted more than `keep` times): its oldest attempts go.
        const values = [w.record.svixId, w.attempt - keep];
        updates.push({ binds: values.length, build: (p) => ({ text: sql.pruneAttempts(p), values }) });
      }
      if (w.op === "insert") {
        inserts.push(deliveryRow(w.record, w.status));
      } else if (w.op === "retry") {
        const values = [w.status, w.status, w.record.receivedAt, w.record.svixId];
        updates.push({ binds: values.length, build: (p) => ({ text: sql.finishRetry(p), values }) });
      } else {
        const values = [w.record.receivedAt, w.record.svixId];
        updates.push({ binds: values.length, build: (p) => ({ text: sql.countDuplicate(p), values }) });
      }
    }
    // A plain INSERT: a delivery another receiver recorded meanwhile fails the batch, which then runs job by job.
    const insert = this.#chunks(DELIVERIES, DELIVERY_COLUMNS, inserts, (p, n) =>
      sql.insert(p, DELIVERIES, DELIVERY_COLUMNS, n),
    );
    // Attempt rows go with their deliveries' rows, in the same transaction (or statement).
    const attempt = this.#chunks(ATTEMPTS, ATTEMPT_COLUMNS, attempts, (p, n) => sql.insertAttempts(p, n));
    return [...insert, ...updates, ...attempt];
  }

  #entityParts(round: readonly EntityWrite[]): SizedPart[] {
    const sql = this.#sql;
    const byTable = new Map<EntityTableName, EntityWrite[]>();
    for (const w of round) {
      const list = byTable.get(w.table);
      if (list) list.push(w);
      else byTable.set(w.table, [w]);
    }
    const parts: SizedPart[] = [];
    for (const table of [...byTable.keys()].sort()) {
      const inserts: Row[] = [];
      const tombstones: Row[] = [];
      const upserts: Row[] = [];
      const soft: Row[] = [];
      const hard: Row[] = [];
      for (const w of byTable.get(table) ?? []) {
        if (w.op === "upsert")
          (w.exists ? upserts : inserts).push(entityRow(this.#types, table, w.id, w.version, w.values));
        else (w.exists ? (w.hard ? hard : soft) : tombstones).push(tombstoneRow(w.id, w.deletedAt, w.hard));
      }
      const columns = entityColumns(table);
      parts.push(
        // Plain INSERTs for rows that were absent: one inserted meanwhile fails the batch (see lockRows).
        ...this.#chunks(table, columns, inserts, (p, n) => sql.insert(p, table, columns, n)),
        ...this.#chunks(table, TOMBSTONE_COLUMNS, tombstones, (p, n) => sql.insert(p, table, TOMBSTONE_COLUMNS, n)),
        ...this.#chunks(table, columns, upserts, (p, n) => sql.upsertEntities(p, table, n)),
        ...this.#chunks(table, TOMBSTONE_COLUMNS, soft, (p, n) => sql.markDeleted(p, table, false, n)),
        ...this.#chunks(table, TOMBSTONE_COLUMNS, hard, (p, n) => sql.markDeleted(p, table, true, n)),
      );
    }
    return parts;
  }

  #childParts(writes: BatchWrites): SizedPart[] {
    const sql = this.#sql;
    const parts: SizedPart[] = [];
    for (const table of [...writes.children.keys()].sort()) {
      const w = writes.children.get(table) as ChildWrites;
      const rows = [...w.rows.values()].map((row) => childRow(this.#types, table, row));
      if (w.cleared.size > 0) {
        const parents = [...w.cleared].sort();
        const kept = rows.map((r) => r[0]);
        // Within one statement, the ids the batch writes are spared: a statement must not both
        // delete and write a row; those rows are upserted instead.
        const arrays = this.#arrays;
        parts.push({
          binds: arrays ? 2 : parents.length + kept.length,
          build: (p, combined) => {
            const spared = combined ? kept : [];
            if (arrays) {
              const of = sql.columnBind(table, CHILD_TABLES[table].parentColumn, parents);
              return {
                text: sql.deleteChildren(p, table, "arrays", spared.length),
                values: spared.length > 0 ? [of, sql.columnBind(table, "id", spared)] : [of],
              };
            }
            return {
              text: sql.deleteChildren(p, table, parents.length, spared.length),
              values: [...parents, ...spared],
            };
          },
        });
      }
      const columns = childColumns(table);
      parts.push(...this.#chunks(table, columns, rows, (p, n) => sql.upsertChildren(p, table, n)));
    }
    return parts;
  }
}
