import { CHILD_TABLES, type ChildTableName, type EntityTableName } from "../../core/schema.js";
import type { DialectSpec } from "../dialect.js";
import {
  childColumns,
  DELIVERIES,
  DELIVERY_COLUMNS,
  entityColumns,
  Shapes,
  TOMBSTONE_COLUMNS,
} from "../write/write-rows.js";

/** The per-job write path's SQL for one dialect, one row per statement, built once per table. */
export class Statements {
  readonly #d: DialectSpec;
  readonly #s: Shapes;
  readonly #cache = new Map<string, unknown>();

  constructor(dialect: DialectSpec) {
    this.#d = dialect;
    this.#s = new Shapes(dialect);
  }

  #get<T>(key: string, build: () => T): T {
    let value = this.#cache.get(key) as T | undefined;
    if (value === undefined) {
      value = build();
      this.#cache.set(key, value);
    }
    return value;
  }

  #params = (count: number, from = 1) => Array.from({ length: count }, (_, i) => this.#d.syntax.placeholder(from + i));

  #insert(table: string, columns: readonly string[], rows = 1): string {
    const tuples = Array.from({ length: rows }, (_, r) => `(${this.#params(columns.length, 1 + r * columns.length)})`);
    return this.#s.insert(table, columns, tuples);
  }

  /**
   * An `INSERT` of one row that, on a key conflict, locks the stored row instead; with
   * `returning`, the statement also answers the stored (or inserted) row's `returning` columns
   * through a no-op update of `noop` (a column outside every index, so the update stays cheap).
   */
  #insertOrLock(table: string, columns: readonly string[], key: string, noop: string, returning: readonly string[]) {
    const d = this.#d;
    const ret = d.syntax.returning(returning);
    if (ret === undefined)
      return { text: `${this.#insert(table, columns)} ${d.syntax.onConflictKeep(key)}`, returns: false };
    const update = d.syntax.onConflictUpdate(key, [`${d.syntax.quote(noop)} = ${d.syntax.stored(table, noop)}`]);
    return { text: `${this.#insert(table, columns)} ${update} ${ret}`, returns: true };
  }

  /** Inserts the delivery row as claimed, or locks the stored one (and answers its status if it can). */
  claim(): { text: string; returns: boolean } {
    return this.#get("claim", () =>
      this.#insertOrLock(DELIVERIES, DELIVERY_COLUMNS, "svix_id", "delivery_count", ["status"]),
    );
  }

  deliveryStatus(): string {
    const q = this.#s.q;
    return this.#get(
      "deliveryStatus",
      () =>
        `SELECT ${q("status")} FROM ${q(DELIVERIES)} WHERE ${q("svix_id")} = ${this.#d.syntax.placeholder(1)}${this.#d.syntax.lockRows}`,
    );
  }

  /** Parameters: last_received_at, last_outcome, svix_id. */
  countDuplicate(): string {
    return this.#get("countDuplicate", () => {
      const [a, b, id] = this.#params(3) as [string, string, string];
      return this.#s.updateDelivery(this.#s.countDuplicate([a, b]), id);
    });
  }

  /** Parameters: status, last_outcome, svix_id. */
  finishNew(): string {
    return this.#get("finishNew", () => {
      const [a, b, id] = this.#params(3) as [string, string, string];
      return this.#s.updateDelivery(this.#s.finishNew([a, b]), id);
    });
  }

  /** Parameters: status, last_outcome, last_received_at, svix_id. */
  finishRetry(): string {
    return this.#get("finishRetry", () => {
      const [a, b, c, id] = this.#params(4) as [string, string, string, string];
      return this.#s.updateDelivery(this.#s.finishRetry([a, b, c]), id);
    });
  }

  /** Inserts a `failed` row, or counts the attempt on a stored one (its error only if it is `failed`). */
  recordFailure(): string {
    return this.#get("recordFailure", () => {
      const d = this.#d;
      const q = this.#s.q;
      const stored = (c: string) => d.syntax.stored(DELIVERIES, c);
      const ifFailed = (c: string, value: string) =>
        `${q(c)} = CASE WHEN ${stored("status")} = 'failed' THEN ${value} ELSE ${stored(c)} END`;
      const assignments = [
        `${q("delivery_count")} = ${stored("delivery_count")} + 1`,
        `${q("last_received_at")} = ${d.syntax.incoming("last_received_at")}`,
        ifFailed("error_code", d.syntax.incoming("error_code")),
        ifFailed("error_message", d.syntax.incoming("error_message")),
        ifFailed("last_outcome", "'failed'"),
      ];
      return `${this.#insert(DELIVERIES, DELIVERY_COLUMNS)} ${d.syntax.onConflictUpdate("svix_id", assignments)}`;
    });
  }

  /** Inserts a placeholder row (version -1) or locks the stored one (and answers its state if it can). */
  placeholder(table: EntityTableName): { text: string; returns: boolean } {
    return this.#get(`placeholder:${table}`, () =>
      this.#insertOrLock(table, ["id", "version"], "id", "version", ["version", "deleted_at"]),
    );
  }

  readState(table: EntityTableName): string {
    const q = this.#s.q;
    return this.#get(
      `state:${table}`,
      () =>
        `SELECT ${this.#s.list(["version", "deleted_at"])} FROM ${q(table)} WHERE ${q("id")} = ${this.#d.syntax.placeholder(1)}${this.#d.syntax.lockRows}`,
    );
  }

  upsert(table: EntityTableName): string {
    return this.#get(
      `upsert:${table}`,
      () => `${this.#insert(table, entityColumns(table))} ${this.#s.upsertConflict(table)}`,
    );
  }

  markDeleted(table: EntityTableName, hard: boolean): string {
    return this.#get(
      `delete:${table}:${hard}`,
      () => `${this.#insert(table, TOMBSTONE_COLUMNS)} ${this.#s.markDeletedConflict(table, hard)}`,
    );
  }

  insertChildren(table: ChildTableName, rows: number): string {
    return this.#get(
      `child:${table}:${rows}`,
      () => `${this.#insert(table, childColumns(table), rows)} ${this.#s.childConflict(table)}`,
    );
  }

  deleteChildren(table: ChildTableName): string {
    const q = this.#s.q;
    return this.#get(
      `unchild:${table}`,
      () => `DELETE FROM ${q(table)} WHERE ${q(CHILD_TABLES[table].parentColumn)} = ${this.#d.syntax.placeholder(1)}`,
    );
  }
}
