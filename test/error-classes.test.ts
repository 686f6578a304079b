/**
 * The dialects' one classification of driver errors, on error shapes the drivers produce (the
 * real databases' refusals are in poison-payloads.test.ts), and the codes the stores give them.
 */
import { describe, expect, it } from "vitest";
import { ClerkSyncError } from "../src/core/errors.js";
import { storeError } from "../src/store/dialect.js";
import { MYSQL } from "../src/store/mysql/mysql-dialect.js";
import { openMysqlStore } from "../src/store/mysql/mysql-store.js";
import { POSTGRES } from "../src/store/postgres/postgres-dialect.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { SQLITE } from "../src/store/sqlite/sqlite-dialect.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";

const withCode = (code: string) => Object.assign(new Error("driver"), { code });
const withErrno = (errno: number, code = "ER_X") => Object.assign(new Error("driver"), { errno, code });

describe("error classes", () => {
  it("SQLite: busy is transient; full, I/O, read-only, missing tables are unavailable; too big, NOT NULL, CHECK are refused", () => {
    expect(SQLITE.classify(withCode("SQLITE_BUSY"))).toBe("transient");
    for (const code of ["SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_ERROR"]) {
      expect(SQLITE.classify(withCode(code)), code).toBe("unavailable");
    }
    for (const code of ["SQLITE_TOOBIG", "SQLITE_CONSTRAINT_NOTNULL", "SQLITE_CONSTRAINT_CHECK"]) {
      expect(SQLITE.classify(withCode(code)), code).toBe("refused");
    }
  });

  it("PostgreSQL: by SQLSTATE; node's socket errors are unavailable", () => {
    expect(POSTGRES.classify(withCode("40P01"))).toBe("transient");
    for (const code of ["22021", "22P05", "22P02", "22003", "22001", "54000", "54001", "23502", "23514"]) {
      expect(POSTGRES.classify(withCode(code)), code).toBe("refused");
    }
    for (const code of ["08006", "57P01", "53100", "42P01", "23505", "ECONNREFUSED", "ETIMEDOUT"]) {
      expect(POSTGRES.classify(withCode(code)), code).toBe("unavailable");
    }
  });

  it("MySQL/MariaDB: by errno; node's socket errors are unavailable", () => {
    expect(MYSQL.classify(withErrno(1213))).toBe("transient");
    for (const errno of [1406, 1366, 1264, 3140, 4025, 1048])
      expect(MYSQL.classify(withErrno(errno)), `${errno}`).toBe("refused");
    for (const errno of [2013, 1045, 1146, 1062])
      expect(MYSQL.classify(withErrno(errno)), `${errno}`).toBe("unavailable");
    expect(MYSQL.classify(withCode("ECONNREFUSED"))).toBe("unavailable");
  });

  it("codes: refused → unstorable_payload 422; unavailable → store_unavailable 503; a JavaScript error without a driver code → internal_error 500", () => {
    expect(storeError(POSTGRES, withCode("22021"))).toMatchObject({ code: "unstorable_payload", status: 422 });
    expect(storeError(POSTGRES, withCode("08006"))).toMatchObject({ code: "store_unavailable", status: 503 });
    expect(storeError(SQLITE, withCode("SQLITE_FULL"))).toMatchObject({ code: "store_unavailable", status: 503 });
    expect(storeError(MYSQL, new TypeError("x is undefined"))).toMatchObject({ code: "internal_error", status: 500 });
    expect(storeError(SQLITE, new RangeError("Maximum call stack size exceeded"))).toMatchObject({
      code: "internal_error",
    });
    // A driver's error without a code (pg's "Connection terminated unexpectedly") is the database's.
    expect(storeError(POSTGRES, new Error("Connection terminated unexpectedly")).code).toBe("store_unavailable");
    const coded = new ClerkSyncError("hook_failed", "hook");
    expect(storeError(POSTGRES, coded)).toBe(coded);
    // A lost race stays recognisable through the coded error's cause.
    const race = storeError(POSTGRES, withCode("40P01"));
    expect(POSTGRES.isTransient(race.cause)).toBe(true);
  });
});

describe("stores code their own failures", () => {
  it("migrating against a server that refuses connections is store_unavailable (a receiver migrates on its first delivery)", async () => {
    for (const open of [
      () => openPostgresStore({ url: "postgres://postgres@127.0.0.1:1/test" }),
      () => openMysqlStore({ url: "mysql://root@127.0.0.1:1/test" }),
    ]) {
      const store = await open();
      try {
        await expect(store.migrate()).rejects.toMatchObject({ code: "store_unavailable" });
      } finally {
        await store.close();
      }
    }
  });

  it("a SQLite file in a missing directory is store_unavailable, not a bug", () => {
    expect(() => openSqliteStore({ filename: "/nonexistent-dir-clerk-sync/app.db" })).toThrow(
      expect.objectContaining({ code: "store_unavailable" }),
    );
  });
});
