/**
 * The one description of clerk-sync's writes, compiled to SQL for a dialect: the delivery
 * claim and outcome, the entity upsert with its version columns, the tombstone, the child-set
 * replace, and the locking reads. Every write path builds its statements here: the SQLite
 * writer, the network stores' job-by-job path (one row per statement) and their set-based
 * batches (many rows per statement). Dialects differ only through `DialectSyntax`.
 */
import {
  CHILD_TABLES,
  type ChildTableName,
  type ColumnSpec,
  ENTITY_TABLES,
  type EntityTableName,
  TABLES,
  type TableName,
} from "../../core/schema.js";
import type { EntityState } from "../../core/store-contract.js";
import type { ColumnArrays, DialectSyntax, StorageType } from "../dialect.js";
import {
  ATTEMPT_COLUMNS,
  ATTEMPTS,
  childColumns,
  DELIVERIES,
  DELIVERY_COLUMNS,
  entityColumns,
  TOMBSTONE_COLUMNS,
} from "./write-rows.js";

/** SQL text with its bind values, in placeholder order. */
export interface BoundStatement {
  readonly text: string;
  readonly values: unknown[];
}

/** Numbers a statement's bind placeholders as a builder asks for them. */
export class Placeholders {
  #count = 0;
  constructor(private readonly syntax: DialectSyntax) {}

  /** The next placeholder. */
  next(): string {
    return this.syntax.placeholder(++this.#count);
  }

  /** `(…, …)`: `n` placeholders. */
  tuple(n: number): string {
    return `(${Array.from({ length: n }, () => this.next()).join(", ")})`;
  }

  /** `…, …`: one placeholder per item. */
  list(n: number): string {
    return Array.from({ length: n }, () => this.next()).join(", ");
  }
}

/**
 * How a multi-row write carries its rows: `n` tuples of `VALUES`, or `"arrays"`, one bind per
 * column (`DialectSyntax.columnArrays`; see {@link WriteSql.columnBinds} for the values).
 */
export type RowShape = number | "arrays";

/** The storage type of `table.column` in the table contract. */
export function storageOf(table: string, column: string): StorageType {
  const spec = (TABLES[table as TableName]?.columns as Readonly<Record<string, ColumnSpec>> | undefined)?.[column];
  if (spec === undefined) throw new Error(`${table}.${column} is not in the table contract`);
  return spec.storage ?? spec.type;
}

/**
 * What an upsert does to a row's version state: the conflict clause of {@link WriteSql.upsertEntities}
 * sets the version and keeps `deleted_at`. The set-based batch decides with it instead of reading
 * the row back.
 */
export function stateAfterUpsert(stored: EntityState | undefined, version: number): EntityState {
  return { version, deletedAt: stored?.deletedAt ?? null };
}

/**
 * What a deletion does to a row's version state: the conflict clause of {@link WriteSql.markDeleted}
 * keeps the later deletion time; hard sets the version to the deletion time, soft keeps the
 * stored version (a locking placeholder's -1 becomes a bare tombstone's 0).
 */
export function stateAfterDelete(stored: EntityState | undefined, deletedAt: number, hard: boolean): EntityState {
  return {
    version: hard ? deletedAt : Math.max(stored?.version ?? 0, 0),
    deletedAt: Math.max(stored?.deletedAt ?? 0, deletedAt),
  };
}

/**
 * The statements of the writes for one dialect. Methods that take `p` append their
 * placeholders to a statement being built (several writes may share one statement); the
 * single-row texts of the per-delivery paths are built once and kept (`…Text` methods).
 *
 * @example
 * const sql = new WriteSql(POSTGRES.syntax);
 * const text = sql.upsertText("clerk_users"); // INSERT … ON CONFLICT ("id") DO UPDATE SET …
 */
export class WriteSql {
  readonly #texts = new Map<string, string>();
  readonly #syntax: DialectSyntax;

  constructor(syntax: DialectSyntax) {
    this.#syntax = syntax;
  }

  get syntax(): DialectSyntax {
    return this.#syntax;
  }

  q = (name: string): string => this.#syntax.quote(name);
  #list = (names: readonly string[]): string => names.map(this.q).join(", ");

  /** A single-statement text, built on first use. */
  #text(key: string, build: (p: Placeholders) => string): string {
    let text = this.#texts.get(key);
    if (text === undefined) {
      text = build(new Placeholders(this.#syntax));
      this.#texts.set(key, text);
    }
    return text;
  }

  // ---- Multi-row writes (the set-based batch; single rows through the `…Text` methods) ----

  /**
   * `INSERT INTO table (columns) VALUES (…), (…)`: `rows` rows; for `"arrays"`,
   * `… SELECT … FROM ROWS FROM (unnest($1::text[]), …)`: one bind per column.
   */
  insert(p: Placeholders, table: string, columns: readonly string[], rows: RowShape): string {
    const into = `INSERT INTO ${this.q(table)} (${this.#list(columns)})`;
    if (rows === "arrays") {
      const arrays = this.#columnArrays();
      const types = columns.map((c) => storageOf(table, c));
      const names = columns.map((_, i) => `c${i + 1}`);
      const read = types.map((type, i) => arrays.read(type, names[i] as string));
      const sources = types.map((type) => arrays.source(type, p.next()));
      return `${into} SELECT ${read.join(", ")} FROM ROWS FROM (${sources.join(", ")}) AS r(${names.join(", ")})`;
    }
    const tuples = Array.from({ length: rows }, () => p.tuple(columns.length));
    return `${into} VALUES ${tuples.join(", ")}`;
  }

  /** The binds of `rows` (values in `columns` order) for an `"arrays"` write: one per column. */
  columnBinds(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): unknown[] {
    return columns.map((c, i) =>
      this.columnBind(
        table,
        c,
        rows.map((row) => row[i]),
      ),
    );
  }

  /** The bind of one column's `values` for an `"arrays"` write. */
  columnBind(table: string, column: string, values: readonly unknown[]): unknown {
    return this.#columnArrays().bind(storageOf(table, column), values);
  }

  #columnArrays(): ColumnArrays {
    const arrays = this.#syntax.columnArrays;
    if (arrays === undefined) throw new Error("this dialect takes rows as VALUES tuples, not column arrays");
    return arrays;
  }

  /** Entity rows ({@link entityColumns}) inserted, or replacing the stored row's version and data; never `deleted_at`. */
  upsertEntities(p: Placeholders, table: EntityTableName, rows: RowShape): string {
    const s = this.#syntax;
    const sets = entityColumns(table)
      .slice(1)
      .map((c) => `${this.q(c)} = ${s.incoming(c)}`);
    return `${this.insert(p, table, entityColumns(table), rows)} ${s.onConflictUpdate("id", sets)}`;
  }

  /**
   * Tombstones ({@link TOMBSTONE_COLUMNS}) inserted, or marking the stored row deleted: the later
   * deletion time is kept; `hard` also clears the data columns (but those the table keeps) and
   * sets the version to the deletion time. See {@link stateAfterDelete}.
   */
  markDeleted(p: Placeholders, table: EntityTableName, hard: boolean, rows: RowShape): string {
    const s = this.#syntax;
    const def = ENTITY_TABLES[table];
    const sets = [
      `${this.q("deleted_at")} = ${s.greatest}(COALESCE(${s.stored(table, "deleted_at")}, 0), ${s.incoming("deleted_at")})`,
    ];
    if (hard) {
      sets.push(`${this.q("version")} = ${s.incoming("deleted_at")}`);
      for (const c of Object.keys(def.columns)) if (!def.keep?.includes(c)) sets.push(`${this.q(c)} = NULL`);
    } else {
      // A placeholder left by a locking read (version -1) becomes a bare tombstone (version 0).
      sets.push(`${this.q("version")} = ${s.greatest}(${s.stored(table, "version")}, ${s.incoming("version")})`);
    }
    return `${this.insert(p, table, TOMBSTONE_COLUMNS, rows)} ${s.onConflictUpdate("id", sets)}`;
  }

  /** Child rows inserted, or replacing the stored row of the same id. */
  upsertChildren(p: Placeholders, table: ChildTableName, rows: RowShape): string {
    const s = this.#syntax;
    const sets = childColumns(table)
      .filter((c) => c !== "id")
      .map((c) => `${this.q(c)} = ${s.incoming(c)}`);
    return `${this.insert(p, table, childColumns(table), rows)} ${s.onConflictUpdate("id", sets)}`;
  }

  /**
   * Deletes the children of `parents` parents, sparing `spared` child ids (rows the same statement
   * writes). For `"arrays"`, the parents are one bind and the spared ids, if any, another.
   */
  deleteChildren(p: Placeholders, table: ChildTableName, parents: RowShape, spared = 0): string {
    const parentColumn = CHILD_TABLES[table].parentColumn;
    const parent = this.q(parentColumn);
    const id = this.q("id");
    // Placeholders in text order: the parents', then the spared ids'.
    if (parents === "arrays") {
      const arrays = this.#columnArrays();
      const of = `${parent} IN (SELECT ${arrays.source(storageOf(table, parentColumn), p.next())})`;
      const sparing = spared > 0 ? ` AND ${id} NOT IN (SELECT ${arrays.source(storageOf(table, "id"), p.next())})` : "";
      return `DELETE FROM ${this.q(table)} WHERE ${of}${sparing}`;
    }
    const of = p.list(parents);
    const sparing = spared > 0 ? ` AND ${id} NOT IN (${p.list(spared)})` : "";
    return `DELETE FROM ${this.q(table)} WHERE ${parent} IN (${of})${sparing}`;
  }

  /** `UPDATE` of one delivery row; `assignments` take their placeholders first, then `svix_id`. */
  #updateDelivery(p: Placeholders, assignments: (p: Placeholders) => string[]): string {
    const sets = assignments(p);
    return `UPDATE ${this.q(DELIVERIES)} SET ${sets.join(", ")} WHERE ${this.q("svix_id")} = ${p.next()}`;
  }

  /** A duplicate's attempt counted. Values: last_received_at, svix_id. */
  countDuplicate(p: Placeholders): string {
    const count = this.q("delivery_count");
    return this.#updateDelivery(p, (p) => [
      `${this.q("last_received_at")} = ${p.next()}`,
      `${this.q("last_outcome")} = 'duplicate'`,
      `${count} = ${count} + 1`,
    ]);
  }

  /** A new delivery's outcome. Values: status, last_outcome, svix_id. */
  finishNew(p: Placeholders): string {
    return this.#updateDelivery(p, (p) => [
      `${this.q("status")} = ${p.next()}`,
      `${this.q("last_outcome")} = ${p.next()}`,
    ]);
  }

  /** A retried delivery's outcome, its attempt counted and its error cleared. Values: status, last_outcome, last_received_at, svix_id. */
  finishRetry(p: Placeholders): string {
    const count = this.q("delivery_count");
    return this.#updateDelivery(p, (p) => [
      `${this.q("status")} = ${p.next()}`,
      `${this.q("last_outcome")} = ${p.next()}`,
      `${this.q("last_received_at")} = ${p.next()}`,
      `${this.q("error_code")} = NULL`,
      `${this.q("error_message")} = NULL`,
      `${count} = ${count} + 1`,
    ]);
  }

  /** Attempt rows inserted, or replacing a stored row of the same number (left by a delivery row deleted by hand). */
  insertAttempts(p: Placeholders, rows: RowShape): string {
    return `${this.insert(p, ATTEMPTS, ATTEMPT_COLUMNS, rows)} ${this.#attemptConflict()}`;
  }

  #attemptConflict(): string {
    const s = this.#syntax;
    const sets = ATTEMPT_COLUMNS.filter((c) => c !== "svix_id" && c !== "attempt").map(
      (c) => `${this.q(c)} = ${s.incoming(c)}`,
    );
    return s.onConflictUpdate(["svix_id", "attempt"], sets);
  }

  /** Removes a delivery's attempts numbered `attempt` or lower. Values: svix_id, attempt. */
  pruneAttempts(p: Placeholders): string {
    const q = this.q;
    return `DELETE FROM ${q(ATTEMPTS)} WHERE ${q("svix_id")} = ${p.next()} AND ${q("attempt")} <= ${p.next()}`;
  }

  /**
   * Reads, locking them, the stored rows of `svixIds` and of each table's ids: one statement
   * where the dialect locks rows in subqueries, else one per table. Absent ids are not locked;
   * `svixIds` may be empty. Answers rows `{k, id, status, version, deleted_at}`: `k` 0 for deliveries, i + 1 for the
   * i-th table of `ids` (see {@link lockedRows}); `count` is a delivery's `delivery_count`.
   */
  lockRows(svixIds: readonly string[], ids: ReadonlyMap<EntityTableName, readonly string[]>): BoundStatement[] {
    const s = this.#syntax;
    const q = this.q;
    const oneStatement = s.locksInSubqueries;
    let p = new Placeholders(s);
    let values: unknown[] = [];
    const select = (
      k: number,
      table: string,
      key: string,
      keys: readonly string[],
      read: Record<string, string | null>,
    ) => {
      if (!oneStatement) {
        p = new Placeholders(s);
        values = [];
      }
      values.push(...keys);
      const locking = `FROM ${q(table)} WHERE ${q(key)} IN (${p.list(keys.length)})${s.lockRows}`;
      // The NULLs stand outside the locking subquery, where the UNION gives them their type.
      const answer = Object.entries(read).map(([as, column]) => `${column === null ? "NULL" : q(column)} AS ${as}`);
      const from = oneStatement
        ? `FROM (SELECT ${this.#list(Object.values(read).filter((c) => c !== null))} ${locking}) AS t${k}`
        : locking;
      return { text: `SELECT ${k} AS k, ${answer.join(", ")} ${from}`, values };
    };
    // No delivery ids (a page of Backend API snapshots): only the entity rows are read.
    const statements =
      svixIds.length === 0
        ? []
        : [
            select(0, DELIVERIES, "svix_id", svixIds, {
              id: "svix_id",
              status: "status",
              count: "delivery_count",
              version: null,
              deleted_at: null,
            }),
          ];
    [...ids.keys()].forEach((table, i) => {
      const read = { id: "id", status: null, count: null, version: "version", deleted_at: "deleted_at" };
      statements.push(select(i + 1, table, "id", ids.get(table) ?? [], read));
    });
    if (!oneStatement) return statements;
    return [{ text: statements.map((st) => st.text).join(" UNION ALL "), values }];
  }

  // ---- Single-row statements of the per-delivery paths, built once ----

  /** Inserts one delivery row (values: {@link deliveryRow}). */
  insertDeliveryText(): string {
    return this.#text("insertDelivery", (p) => this.insert(p, DELIVERIES, DELIVERY_COLUMNS, 1));
  }

  countDuplicateText(): string {
    return this.#text("countDuplicate", (p) => this.countDuplicate(p));
  }

  finishNewText(): string {
    return this.#text("finishNew", (p) => this.finishNew(p));
  }

  finishRetryText(): string {
    return this.#text("finishRetry", (p) => this.finishRetry(p));
  }

  /**
   * Inserts a `failed` delivery row (values: {@link deliveryRow} with its error), or counts the
   * attempt on a stored one, taking the error only if the stored row is `failed`.
   */
  recordFailureText(): string {
    return this.#text("recordFailure", (p) => {
      const s = this.#syntax;
      const q = this.q;
      const stored = (c: string) => s.stored(DELIVERIES, c);
      const ifFailed = (c: string, value: string) =>
        `${q(c)} = CASE WHEN ${stored("status")} = 'failed' THEN ${value} ELSE ${stored(c)} END`;
      const assignments = [
        `${q("delivery_count")} = ${stored("delivery_count")} + 1`,
        `${q("last_received_at")} = ${s.incoming("last_received_at")}`,
        ifFailed("error_code", s.incoming("error_code")),
        ifFailed("error_message", s.incoming("error_message")),
        ifFailed("last_outcome", "'failed'"),
      ];
      return `${this.insert(p, DELIVERIES, DELIVERY_COLUMNS, 1)} ${s.onConflictUpdate("svix_id", assignments)}`;
    });
  }

  /**
   * Inserts one attempt row (values: {@link attemptRow} with `attempt` replaced by `svix_id`),
   * numbered with the delivery row's `delivery_count` as this transaction left it.
   */
  recordAttemptText(): string {
    return this.#text("recordAttempt", (p) => {
      const q = this.q;
      const values = ATTEMPT_COLUMNS.map((c) =>
        c === "attempt"
          ? `(SELECT ${q("delivery_count")} FROM ${q(DELIVERIES)} WHERE ${q("svix_id")} = ${p.next()})`
          : p.next(),
      );
      return `INSERT INTO ${q(ATTEMPTS)} (${this.#list(ATTEMPT_COLUMNS)}) VALUES (${values.join(", ")}) ${this.#attemptConflict()}`;
    });
  }

  /** Removes a delivery's attempts but the last `keep`. Values: svix_id, keep, svix_id. */
  pruneAttemptsText(): string {
    return this.#text("pruneAttempts", (p) => {
      const q = this.q;
      const id = p.next();
      const keep = p.next();
      // A derived table: MySQL refuses a subquery on the table a DELETE writes, not on another one.
      return `DELETE FROM ${q(ATTEMPTS)} WHERE ${q("svix_id")} = ${id} AND ${q("attempt")} <= (SELECT ${q("delivery_count")} - ${keep} FROM ${q(DELIVERIES)} WHERE ${q("svix_id")} = ${p.next()})`;
    });
  }

  /** The stored status of one delivery id, locked where the dialect locks rows. Values: svix_id. */
  deliveryStatusText(): string {
    return this.#text(
      "deliveryStatus",
      (p) =>
        `SELECT ${this.q("status")} FROM ${this.q(DELIVERIES)} WHERE ${this.q("svix_id")} = ${p.next()}${this.#syntax.lockRows}`,
    );
  }

  /** The version state of one row, locked where the dialect locks rows. Values: id. */
  readStateText(table: EntityTableName): string {
    return this.#text(
      `readState:${table}`,
      (p) =>
        `SELECT ${this.#list(["version", "deleted_at"])} FROM ${this.q(table)} WHERE ${this.q("id")} = ${p.next()}${this.#syntax.lockRows}`,
    );
  }

  /**
   * Inserts the delivery row as claimed (values: {@link deliveryRow} with the claimed status), or
   * on a conflict locks the stored row; `returns`: the statement also answers the stored (or
   * inserted) row's status.
   */
  claimText(): { text: string; returns: boolean } {
    return this.#insertOrLock("claim", DELIVERIES, DELIVERY_COLUMNS, "svix_id", "delivery_count", ["status"]);
  }

  /** Inserts a locking placeholder row (values: id, version -1), or locks the stored row; `returns`: it answers the row's state. */
  placeholderText(table: EntityTableName): { text: string; returns: boolean } {
    return this.#insertOrLock(`placeholder:${table}`, table, ["id", "version"], "id", "version", [
      "version",
      "deleted_at",
    ]);
  }

  /**
   * An `INSERT` of one row that, on a key conflict, locks the stored row instead; where the
   * dialect can return rows, the statement also answers the stored (or inserted) row's
   * `returning` columns through a no-op update of `noop` (a column outside every index).
   */
  #insertOrLock(
    key: string,
    table: string,
    columns: readonly string[],
    conflictKey: string,
    noop: string,
    returning: readonly string[],
  ): { text: string; returns: boolean } {
    const s = this.#syntax;
    const ret = s.returning(returning);
    const text = this.#text(key, (p) => {
      const insert = this.insert(p, table, columns, 1);
      if (ret === undefined) return `${insert} ${s.onConflictKeep(conflictKey)}`;
      return `${insert} ${s.onConflictUpdate(conflictKey, [`${this.q(noop)} = ${s.stored(table, noop)}`])} ${ret}`;
    });
    return { text, returns: ret !== undefined };
  }

  upsertText(table: EntityTableName): string {
    return this.#text(`upsert:${table}`, (p) => this.upsertEntities(p, table, 1));
  }

  markDeletedText(table: EntityTableName, hard: boolean): string {
    return this.#text(`delete:${table}:${hard}`, (p) => this.markDeleted(p, table, hard, 1));
  }

  upsertChildrenText(table: ChildTableName, rows: number): string {
    return this.#text(`children:${table}:${rows}`, (p) => this.upsertChildren(p, table, rows));
  }

  deleteChildrenText(table: ChildTableName): string {
    return this.#text(`deleteChildren:${table}`, (p) => this.deleteChildren(p, table, 1));
  }
}
