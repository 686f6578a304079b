import { fdatasync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { isAbsolute, join } from "node:path";
import { Worker } from "node:worker_threads";

/** How a file's data is made durable: `fdatasync`'s signature (tests pass their own). */
export type SyncFile = (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;

/**
 * Makes SQLite commits durable without blocking the event loop. The connection runs WAL with
 * `synchronous = NORMAL`, so COMMIT writes the WAL without flushing it; `flush()` then syncs the
 * WAL file (`fdatasync`, as SQLite itself does on Linux) on libuv's thread pool. A commit is
 * acknowledged only after a sync that started after it completed: the same guarantee as
 * `synchronous = FULL`, but the disk wait overlaps with other work, and one sync covers every
 * commit made before it started (group commit).
 *
 * Up to `maxInFlight` syncs run at once: a commit made while a sync is under way starts its own
 * rather than waiting for that one to end and then for its own. On a disk whose flushes now and
 * then take many milliseconds, this bounds a commit's wait by one slow flush instead of two or
 * more in a row.
 *
 * A failed sync fails the flusher for good: after a failed fsync, Linux may have dropped the
 * pages it could not write and a later fsync can succeed without them, so nothing committed
 * since can be called durable. Every flush then fails (the deliveries are answered 503 and
 * retried by Svix); the process must be restarted, which recovers the WAL from disk.
 */
export class WalFlusher {
  readonly #walPath: string;
  readonly #maxInFlight: number;
  readonly #sync: SyncFile;
  #fd: number | undefined;
  /** Commits so far, and how many of them the latest sync started covers. */
  #committed = 0;
  #startedUpTo = 0;
  #inFlight = 0;
  #failed: unknown;
  #waiters: { gen: number; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(databasePath: string, options: { maxInFlight?: number; sync?: SyncFile | undefined } = {}) {
    this.#walPath = `${databasePath}-wal`;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_SYNCS_IN_FLIGHT);
    this.#sync = options.sync ?? fdatasync;
  }

  /** The error of the sync that failed, once one has: every flush fails from then on. */
  get failure(): unknown {
    return this.#failed;
  }

  /** Call right after a COMMIT returns; resolves once that commit is on disk. */
  flush(): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const gen = ++this.#committed;
    return new Promise((resolve, reject) => {
      this.#waiters.push({ gen, resolve, reject });
      if (this.#inFlight < this.#maxInFlight) this.#start();
    });
  }

  #start(): void {
    this.#inFlight++;
    const covered = this.#committed;
    this.#startedUpTo = covered;
    try {
      this.#fd ??= openSync(this.#walPath, "r");
    } catch (error) {
      this.#finish(covered, error);
      return;
    }
    this.#sync(this.#fd, (error) => this.#finish(covered, error ?? undefined));
  }

  #finish(covered: number, error: unknown): void {
    this.#inFlight--;
    if (error !== undefined && this.#failed === undefined) {
      this.#failed = error;
      process.emitWarning(`clerk-sync: syncing the SQLite WAL failed; every delivery fails until a restart: ${error}`);
    }
    if (this.#failed !== undefined) {
      for (const w of this.#waiters.splice(0)) w.reject(this.#failed);
      return;
    }
    // Syncs may end out of order: each settles the commits made before it started.
    const done = this.#waiters.filter((w) => w.gen <= covered);
    this.#waiters = this.#waiters.filter((w) => w.gen > covered);
    for (const w of done) w.resolve();
    // Commits made while every slot was taken: one sync covers them all.
    if (this.#committed > this.#startedUpTo) this.#start();
  }
}

/**
 * Syncs of the WAL under way at once. libuv's thread pool has 4 threads by default; one is left
 * for the process's other file system work.
 */
const DEFAULT_SYNCS_IN_FLIGHT = 3;

const CHECKPOINTER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.filename);
db.pragma("busy_timeout = 1000");
let timer = setInterval(() => {
  try {
    // PASSIVE never blocks the writer; once every frame is copied, the next write transaction
    // starts the WAL over from its beginning, which keeps it small.
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
}, workerData.intervalMs);
parentPort.on("message", (m) => {
  if (m === "close") { clearInterval(timer); try { db.pragma("wal_checkpoint(PASSIVE)"); } catch {} db.close(); parentPort.close(); }
});
`;

/**
 * Where better-sqlite3 is installed, for the checkpointer thread to `require`: a path on disk,
 * resolved from this module, else from the working directory, else the bare name (which the
 * thread then resolves from the working directory itself).
 *
 * The name sits in a variable so that bundlers leave the call alone: given a literal
 * `require.resolve("better-sqlite3")`, Next.js's Turbopack replaces it with its own module id
 * (a number in `next build`, a string such as `[externals]/better-sqlite3 [external] (…)` under
 * `next dev`), which no `require` outside the bundle can load. Only an absolute path is taken.
 */
export function driverPath(): string {
  const name = "better-sqlite3";
  for (const from of [import.meta.url, join(process.cwd(), "noop.js")]) {
    try {
      const resolved: unknown = createRequire(from).resolve(name);
      if (typeof resolved === "string" && isAbsolute(resolved)) return resolved;
    } catch {
      // not resolvable from there (or `from` is not a file URL or path once bundled)
    }
  }
  return name;
}

/**
 * Checkpoints the WAL into the database file from a worker thread with its own connection, so
 * the page copying and its fsyncs never run inside a request's COMMIT.
 */
export function startCheckpointer(filename: string, intervalMs = 200): { close(): Promise<void> } {
  const driver = driverPath();
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { filename, driver, intervalMs } });
  worker.unref();
  // A failing checkpointer must not take the service down: the WAL only grows until the next
  // start, and commits stay durable (they are flushed by WalFlusher, not by checkpoints).
  worker.on("error", (error) => process.emitWarning(`clerk-sync: SQLite checkpointer stopped: ${error}`));
  let exited = false;
  worker.once("exit", () => {
    exited = true;
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        worker.ref(); // keep the process alive until the final checkpoint is done
        worker.once("exit", () => resolve());
        worker.postMessage("close");
      }),
  };
}
