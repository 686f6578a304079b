import {
  AbortedTransactionError,
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  MysqlDialect,
  PostgresDialect,
  sql,
} from "kysely";
import mysql from "mysql2";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { PreparingMysqlDialect } from "../src/store/mysql/mysql-driver.js";
import { openMysqlStore } from "../src/store/mysql/mysql-store.js";
import { PreparingPostgresDialect } from "../src/store/postgres/postgres-driver.js";
import { openPostgresStore, postgresConnection } from "../src/store/postgres/postgres-store.js";
import { PreparedTexts } from "../src/store/sql/prepared-statements.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { describeTarget, mysqlTarget, postgresTarget } from "./helpers/databases.js";
import { userPlan } from "./helpers/events.js";

const target = await postgresTarget();

/** The clerk-sync statements prepared on the connection that runs this query. */
async function preparedHere(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_prepared_statements where name like 'clerk_sync_%'`.execute(db);
  return rows[0]?.n ?? 0;
}

describeTarget(target, "PostgreSQL prepared statements", () => {
  const opened: ClerkSyncStore[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });

  it("sends the set-based batches' statements prepared, and applies them as before", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    await fresh.migrate();
    // One connection: the batches and the check below share it (prepared statements are per session).
    const store = await openPostgresStore({ url: target.url?.(fresh) as string, poolSize: 1 });
    opened.push(store);
    const ids = Array.from({ length: 6 }, (_, i) => `user_prepared_${i}`);
    for (const pair of [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)]) {
      const results = await store.applyPlans(pair.map((id) => userPlan(id)));
      expect(results).toEqual(pair.map(() => ({ ok: true, value: "applied" })));
    }
    // Three batches of the same shape: one text, prepared once.
    expect(await preparedHere(store.db as Kysely<unknown>)).toBe(1);
    const { rows } = await sql<{ id: string }>`select id from clerk_users order by id`.execute(store.db);
    expect(rows.map((r) => r.id)).toEqual(ids);
  });

  it("sends them unprepared with ?prepared_statements=false (poolers without prepared statements)", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    await fresh.migrate();
    const url = new URL(target.url?.(fresh) as string);
    url.searchParams.set("prepared_statements", "false");
    const store = await openPostgresStore({ url: url.toString(), poolSize: 1 });
    opened.push(store);
    const results = await store.applyPlans(["user_unprepared_1", "user_unprepared_2"].map((id) => userPlan(id)));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(await preparedHere(store.db as Kysely<unknown>)).toBe(0);
  });

  it("refuses a prepared_statements value other than true or false, with invalid_config", async () => {
    const url = "postgres://postgres@127.0.0.1:5432/test?prepared_statements=no";
    await expect(openPostgresStore({ url })).rejects.toMatchObject({ code: "invalid_config" });
  });

  it("prepares at most the registry's texts, and at most perConnection of them on a connection", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    const texts = new PreparedTexts(3);
    const statements = [1, 2, 3, 4].map((n) => `select $1::int + ${n} as v`);
    for (const text of statements) texts.register(text);
    expect(statements.map((t) => texts.nameFor(t))).toEqual([
      "clerk_sync_1",
      "clerk_sync_2",
      "clerk_sync_3",
      undefined,
    ]);
    // One connection: every query below runs on it.
    const pool = new pg.Pool({ connectionString: target.url?.(fresh) as string, max: 1 });
    const db = new Kysely<unknown>({ dialect: new PreparingPostgresDialect({ pool, texts, perConnection: 2 }) });
    try {
      for (const round of [1, 2]) {
        for (const [i, text] of statements.entries()) {
          const { rows } = await db.executeQuery<{ v: number }>(CompiledQuery.raw(text, [round * 10]));
          expect(rows).toEqual([{ v: round * 10 + i + 1 }]);
        }
      }
      const { rows } = await sql<{ name: string; statement: string }>`
        select name, statement from pg_prepared_statements where name like 'clerk_sync_%' order by name`.execute(db);
      expect(rows).toEqual([
        { name: "clerk_sync_1", statement: statements[0] },
        { name: "clerk_sync_2", statement: statements[1] },
      ]);
    } finally {
      await db.destroy(); // ends the pool
    }
  });

  it("runs Kysely's transactions and savepoints on its connections, prepared texts included", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    const texts = new PreparedTexts();
    const insert = "insert into t (v) values ($1)";
    texts.register(insert);
    const pool = new pg.Pool({ connectionString: target.url?.(fresh) as string, max: 1 });
    const db = new Kysely<unknown>({ dialect: new PreparingPostgresDialect({ pool, texts }) });
    try {
      await sql`create temporary table t (v int primary key)`.execute(db);
      const isolation = await db
        .transaction()
        .setIsolationLevel("serializable")
        .execute(
          async (trx) =>
            (await sql<{ level: string }>`select current_setting('transaction_isolation') as level`.execute(trx)).rows,
        );
      expect(isolation).toEqual([{ level: "serializable" }]);

      const trx = await db.startTransaction().execute();
      const inserted = await trx.executeQuery(CompiledQuery.raw(insert, [1]));
      expect(inserted.numAffectedRows).toBe(1n);
      const inSavepoint = await trx.savepoint("job").execute();
      await inSavepoint.executeQuery(CompiledQuery.raw(insert, [2]));
      await inSavepoint.rollbackToSavepoint("job").execute();
      await inSavepoint.releaseSavepoint("job").execute();
      await trx.commit().execute();
      const { rows } = await sql<{ v: number }>`select v from t order by v`.execute(db);
      expect(rows).toEqual([{ v: 1 }]);

      // A failed statement aborts the transaction: its COMMIT is answered ROLLBACK, and Kysely throws.
      const failing = await db.startTransaction().execute();
      await failing.executeQuery(CompiledQuery.raw(insert, [3]));
      await expect(failing.executeQuery(CompiledQuery.raw(insert, [1]))).rejects.toMatchObject({ code: "23505" });
      await expect(failing.commit().execute()).rejects.toBeInstanceOf(AbortedTransactionError);
      const after = await sql<{ v: number }>`select v from t order by v`.execute(db);
      expect(after.rows).toEqual([{ v: 1 }]);
      expect(await preparedHere(db)).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it("never prepares on the caller's pool or Kysely instance", async () => {
    const fresh = await target.fresh();
    opened.push(fresh);
    await fresh.migrate();
    const { connectionString } = postgresConnection(target.url?.(fresh) as string);
    const pool = new pg.Pool({ connectionString, max: 1 });
    const kysely = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    try {
      for (const [i, store] of [await openPostgresStore({ pool }), await openPostgresStore({ kysely })].entries()) {
        const results = await store.applyPlans([`user_caller_${i}_1`, `user_caller_${i}_2`].map((id) => userPlan(id)));
        expect(results.map((r) => r.ok)).toEqual([true, true]);
        await store.close();
      }
      expect(await preparedHere(kysely)).toBe(0);
    } finally {
      await kysely.destroy(); // ends the pool
    }
  });
});

const mysqlDb = await mysqlTarget();

/** Prepared statements run on the connection that runs this query (MySQL keeps the count per session). */
async function executedHere(db: Kysely<unknown>): Promise<number> {
  const { rows } = await sql<{ Value: string }>`show session status like 'Com_stmt_execute'`.execute(db);
  return Number(rows[0]?.Value ?? 0);
}

describeTarget(mysqlDb, "MySQL prepared statements", () => {
  const opened: ClerkSyncStore[] = [];
  afterAll(async () => {
    for (const store of opened) await store.close();
  });

  for (const prepared of [true, false]) {
    it(`runs the set-based batches' statements ${prepared ? "prepared" : "as text with ?prepared_statements=false"}`, async () => {
      const fresh = await mysqlDb.fresh();
      opened.push(fresh);
      await fresh.migrate();
      const url = new URL(mysqlDb.url?.(fresh) as string);
      if (!prepared) url.searchParams.set("prepared_statements", "false");
      const store = await openMysqlStore({ url: url.toString(), poolSize: 1 });
      opened.push(store);
      const ids = Array.from({ length: 4 }, (_, i) => `user_mysql_prepared_${prepared}_${i}`);
      for (const pair of [ids.slice(0, 2), ids.slice(2)]) {
        const results = await store.applyPlans(pair.map((id) => userPlan(id)));
        expect(results).toEqual(pair.map(() => ({ ok: true, value: "applied" })));
      }
      const executed = await executedHere(store.db as Kysely<unknown>);
      if (prepared) expect(executed).toBeGreaterThanOrEqual(2);
      else expect(executed).toBe(0);
      const { rows } = await sql<{ id: string }>`select id from clerk_users order by id`.execute(store.db);
      expect(rows.map((r) => r.id)).toEqual(ids);
    });
  }

  it("prepares only the registered texts, each once per connection, after the session's setup", async () => {
    const fresh = await mysqlDb.fresh();
    opened.push(fresh);
    const texts = new PreparedTexts();
    const [prepared, unprepared] = ["select ? + 1 as v", "select ? + 2 as v"];
    texts.register(prepared as string);
    // One connection: every query below runs on it.
    const pool = mysql.createPool({ uri: mysqlDb.url?.(fresh) as string, connectionLimit: 1 });
    let setUps = 0;
    const onCreateConnection = async (connection: DatabaseConnection) => {
      setUps++;
      await connection.executeQuery(CompiledQuery.raw("SET SESSION innodb_lock_wait_timeout = 7"));
    };
    const db = new Kysely<unknown>({ dialect: new PreparingMysqlDialect({ pool, texts, onCreateConnection }) });
    try {
      const before = await statementCounts(db);
      for (const round of [1, 2]) {
        for (const [i, text] of [prepared, unprepared].entries()) {
          const { rows } = await db.executeQuery<{ v: number }>(CompiledQuery.raw(text as string, [round * 10]));
          expect(rows.map((r) => Number(r.v))).toEqual([round * 10 + i + 1]);
        }
      }
      const after = await statementCounts(db);
      expect({ prepare: after.prepare - before.prepare, execute: after.execute - before.execute }).toEqual({
        prepare: 1,
        execute: 2,
      });
      const { rows } = await sql<{ t: number }>`select @@session.innodb_lock_wait_timeout as t`.execute(db);
      expect(rows.map((r) => Number(r.t))).toEqual([7]);
      expect(setUps).toBe(1);
    } finally {
      await db.destroy(); // ends the pool
    }
  });

  it("returns a connection whose setup failed to the pool, and sets it up again on its next use", async () => {
    const fresh = await mysqlDb.fresh();
    opened.push(fresh);
    const pool = mysql.createPool({ uri: mysqlDb.url?.(fresh) as string, connectionLimit: 1 });
    let setUps = 0;
    const onCreateConnection = async (connection: DatabaseConnection) => {
      setUps++;
      await connection.executeQuery(CompiledQuery.raw(setUps === 1 ? "SET SESSION no_such_variable = 1" : "SELECT 1"));
    };
    const texts = new PreparedTexts();
    const db = new Kysely<unknown>({ dialect: new PreparingMysqlDialect({ pool, texts, onCreateConnection }) });
    try {
      await expect(sql`select 1`.execute(db)).rejects.toMatchObject({ errno: 1193 }); // unknown system variable
      // The pool's one connection is free again (kept out, this would wait forever).
      const { rows } = await sql<{ v: number }>`select 2 as v`.execute(db);
      expect(rows).toEqual([{ v: 2 }]);
      expect(setUps).toBe(2);
    } finally {
      await db.destroy();
    }
  });

  it("runs Kysely's transactions, savepoints and streams on its connections, prepared texts included", async () => {
    const fresh = await mysqlDb.fresh();
    opened.push(fresh);
    const texts = new PreparedTexts();
    const insert = "insert into t (v) values (?)";
    texts.register(insert);
    const pool = mysql.createPool({ uri: mysqlDb.url?.(fresh) as string, connectionLimit: 1 });
    const db = new Kysely<{ t: { v: number } }>({ dialect: new PreparingMysqlDialect({ pool, texts }) });
    try {
      await sql`create table t (v int primary key) engine = InnoDB`.execute(db);
      const before = await statementCounts(db);
      const trx = await db.startTransaction().setIsolationLevel("serializable").execute();
      const inserted = await trx.executeQuery(CompiledQuery.raw(insert, [1]));
      expect(inserted.numAffectedRows).toBe(1n);
      const inSavepoint = await trx.savepoint("job").execute();
      await inSavepoint.executeQuery(CompiledQuery.raw(insert, [2]));
      await inSavepoint.rollbackToSavepoint("job").execute();
      await inSavepoint.releaseSavepoint("job").execute();
      await inSavepoint.executeQuery(CompiledQuery.raw(insert, [3]));
      await trx.commit().execute();

      const rolledBack = await db.startTransaction().execute();
      await rolledBack.executeQuery(CompiledQuery.raw(insert, [4]));
      await expect(rolledBack.executeQuery(CompiledQuery.raw(insert, [1]))).rejects.toMatchObject({ errno: 1062 });
      await rolledBack.rollback().execute();
      // The five inserts ran prepared, in the transactions and savepoints.
      expect((await statementCounts(db)).execute - before.execute).toBe(5);

      const streamed: number[] = [];
      for await (const row of db.selectFrom("t").select("v").orderBy("v").stream()) streamed.push(row.v);
      expect(streamed).toEqual([1, 3]);
    } finally {
      await db.destroy();
    }
  });

  it("never prepares on the caller's pool or Kysely instance", async () => {
    const fresh = await mysqlDb.fresh();
    opened.push(fresh);
    await fresh.migrate();
    const pool = mysql.createPool({ uri: mysqlDb.url?.(fresh) as string, connectionLimit: 1 });
    const kysely = new Kysely<unknown>({ dialect: new MysqlDialect({ pool }) });
    try {
      for (const [i, store] of [await openMysqlStore({ pool }), await openMysqlStore({ kysely })].entries()) {
        const results = await store.applyPlans([`user_caller_${i}_1`, `user_caller_${i}_2`].map((id) => userPlan(id)));
        expect(results.map((r) => r.ok)).toEqual([true, true]);
        await store.close();
      }
      expect(await executedHere(kysely)).toBe(0);
    } finally {
      await kysely.destroy(); // ends the pool
    }
  });
});

/** The session's counts of statements prepared and of prepared statements run. */
async function statementCounts<DB>(db: Kysely<DB>): Promise<{ prepare: number; execute: number }> {
  const { rows } = await sql<{ Variable_name: string; Value: string }>`
    show session status where Variable_name in ('Com_stmt_prepare', 'Com_stmt_execute')`.execute(db);
  const count = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value ?? Number.NaN);
  return { prepare: count("Com_stmt_prepare"), execute: count("Com_stmt_execute") };
}
