/**
 * PostgreSQL's rows as column arrays (the set-based batch's multi-row writes): the array
 * literals clerk-sync builds itself are read back by the server exactly as the values went in.
 */
import { expect, it } from "vitest";
import { arrayLiteral, postgresColumnArrays } from "../src/store/postgres/column-arrays.js";
import { POSTGRES } from "../src/store/postgres/postgres-dialect.js";
import { describeTarget, postgresTarget } from "./helpers/databases.js";

const target = await postgresTarget();

const TEXTS: (string | null)[] = [
  "plain",
  "",
  "NULL",
  null,
  'a "quoted" word',
  'back\\slash and \\" both',
  "{braces}, commas, and (parens)",
  "  leading and trailing spaces  ",
  "line\nbreak\ttab",
  "ünïcödé ✓ 🙂",
];

describeTarget(target, "PostgreSQL column arrays", () => {
  it("arrayLiteral: every text, NULL and the string 'NULL' read back as they were", async () => {
    const store = await target.fresh();
    try {
      await store.migrate();
      const { rows } = await sqlRows(store, "SELECT unnest($1::text[]) AS v", [arrayLiteral(TEXTS)]);
      expect(rows.map((r) => r.v)).toEqual(TEXTS);
    } finally {
      await store.close();
    }
  });

  it("JSON columns: one JSON array, its null read as SQL NULL and its texts unchanged", async () => {
    const store = await target.fresh();
    try {
      await store.migrate();
      const arrays = postgresColumnArrays(POSTGRES.types.columnType);
      const values = [JSON.stringify({ name: 'x "y" \\ z', n: [1, 2] }), null, JSON.stringify("a string"), "[]"];
      const text = `SELECT ${arrays.read("json", "c1")} AS v FROM ROWS FROM (${arrays.source("json", "$1")}) AS r(c1)`;
      const { rows } = await sqlRows(store, text, [arrays.bind("json", values)]);
      expect(rows.map((r) => r.v)).toEqual([{ name: 'x "y" \\ z', n: [1, 2] }, null, "a string", []]);
    } finally {
      await store.close();
    }
  });
});

async function sqlRows(
  store: Awaited<ReturnType<typeof target.fresh>>,
  text: string,
  values: unknown[],
): Promise<{ rows: Record<string, unknown>[] }> {
  const { CompiledQuery } = await import("kysely");
  return store.transaction(async (tx) => tx.db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, values)));
}
