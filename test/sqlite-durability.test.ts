import { fdatasync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WalFlusher } from "../src/store/sqlite/sqlite-durability.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { configureSqlite, SqliteWriter } from "../src/store/sqlite/sqlite-writer.js";
import { userPlan } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

/** A stand-in for fdatasync whose calls the test ends, in any order. */
class Syncs {
  readonly calls: ((error: NodeJS.ErrnoException | null) => void)[] = [];
  readonly sync = ((_fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    this.calls.push(callback);
  }) as typeof import("node:fs").fdatasync;

  end(index: number, error: NodeJS.ErrnoException | null = null): void {
    const callback = this.calls[index];
    if (!callback) throw new Error(`no sync #${index}`);
    callback(error);
  }
}

/** Which of `promises` have settled, after pending callbacks ran. */
async function settled(promises: Promise<unknown>[]): Promise<string[]> {
  const states = promises.map(() => "pending");
  promises.forEach((p, i) => {
    p.then(
      () => {
        states[i] = "resolved";
      },
      () => {
        states[i] = "rejected";
      },
    );
  });
  await new Promise((resolve) => setImmediate(resolve));
  return states;
}

describe("WalFlusher", () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clerk-sync-flusher-"));
    db = join(dir, "db.sqlite");
    writeFileSync(`${db}-wal`, "");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("settles a commit only with a sync that started after it", async () => {
    const syncs = new Syncs();
    const flusher = new WalFlusher(db, { maxInFlight: 1, sync: syncs.sync });
    const a = flusher.flush();
    const b = flusher.flush(); // made while sync #0 runs: #0 does not cover it
    expect(syncs.calls).toHaveLength(1);
    syncs.end(0);
    expect(await settled([a, b])).toEqual(["resolved", "pending"]);
    expect(syncs.calls).toHaveLength(2);
    syncs.end(1);
    expect(await settled([b])).toEqual(["resolved"]);
  });

  it("starts a sync per commit while slots are free, and settles syncs ending out of order", async () => {
    const syncs = new Syncs();
    const flusher = new WalFlusher(db, { maxInFlight: 2, sync: syncs.sync });
    const a = flusher.flush(); // sync #0 covers a
    const b = flusher.flush(); // sync #1 covers a, b
    const c = flusher.flush(); // no slot: waits
    expect(syncs.calls).toHaveLength(2);
    syncs.end(1);
    // #1 started after a and b: both are durable, though #0 is still running.
    expect(await settled([a, b, c])).toEqual(["resolved", "resolved", "pending"]);
    // A slot freed: c gets a sync of its own (#2) rather than waiting for #0.
    expect(syncs.calls).toHaveLength(3);
    syncs.end(2);
    expect(await settled([c])).toEqual(["resolved"]);
    syncs.end(0);
    expect(syncs.calls).toHaveLength(3);
  });

  it("fails every waiting and later commit once a sync failed", async () => {
    const syncs = new Syncs();
    const flusher = new WalFlusher(db, { maxInFlight: 2, sync: syncs.sync });
    const a = flusher.flush();
    const b = flusher.flush();
    const eio = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
    syncs.end(0, eio);
    expect(await settled([a, b])).toEqual(["rejected", "rejected"]);
    // The other sync succeeding does not make b durable after all.
    syncs.end(1);
    await expect(b).rejects.toMatchObject({ code: "EIO" });
    await expect(flusher.flush()).rejects.toMatchObject({ code: "EIO" });
    expect(syncs.calls).toHaveLength(2);
  });

  it("makes commits durable with the real fdatasync", async () => {
    const flusher = new WalFlusher(db);
    await expect(Promise.all([flusher.flush(), flusher.flush(), flusher.flush()])).resolves.toHaveLength(3);
  });
});

describe("SqliteWriter after a failed WAL sync", () => {
  const tempDir = useTempDirs("durability");

  it("after a failed WAL sync, no delivery is acknowledged, the one under way included", async () => {
    const filename = join(tempDir(), "unsynced.db");
    const store = openSqliteStore({ filename });
    await store.migrate();
    await store.close();
    const sqlite = new Database(filename);
    try {
      configureSqlite(sqlite);
      let fail = false;
      const writer = new SqliteWriter(sqlite, null, {
        onDisk: true,
        lockTimeoutMs: 1000,
        sync: (fd, callback) =>
          fail ? callback(Object.assign(new Error("EIO"), { code: "EIO" })) : fdatasync(fd, callback),
      });
      const [first] = await writer.run([{ plan: userPlan("user_synced") }]);
      expect(first).toEqual({ ok: true, value: "applied" });
      expect(writer.durabilityFailure).toBeUndefined();
      fail = true;
      const [second] = await writer.run([{ plan: userPlan("user_unsynced") }]);
      expect(second?.ok).toBe(false);
      expect(writer.durabilityFailure).toMatchObject({ code: "EIO" });
      // The disk came back: nothing committed since the failure can be vouched for all the same.
      fail = false;
      const [third] = await writer.run([{ plan: userPlan("user_after") }]);
      expect(third?.ok).toBe(false);
    } finally {
      sqlite.close();
    }
  });
});
