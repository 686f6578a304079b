import { fsync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * Makes SQLite commits durable without blocking the event loop. The connection runs WAL with
 * `synchronous = NORMAL`, so COMMIT writes the WAL without flushing it; `flush()` then fsyncs
 * the WAL file on libuv's thread pool. A commit is acknowledged only after a flush that started
 * after it completed: the same guarantee as `synchronous = FULL`, but the disk wait overlaps
 * with other work, and one fsync covers every commit made before it started (group commit).
 */
export class WalFlusher {
  readonly #walPath: string;
  #fd: number | undefined;
  #committed = 0;
  #inFlight = false;
  #waiters: { gen: number; resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(databasePath: string) {
    this.#walPath = `${databasePath}-wal`;
  }

  /** Call right after a COMMIT returns; resolves once that commit is on disk. */
  flush(): Promise<void> {
    const gen = ++this.#committed;
    return new Promise((resolve, reject) => {
      this.#waiters.push({ gen, resolve, reject });
      if (!this.#inFlight) this.#start();
    });
  }

  #start(): void {
    this.#inFlight = true;
    const covered = this.#committed;
    let fd: number;
    try {
      this.#fd ??= openSync(this.#walPath, "r");
      fd = this.#fd;
    } catch (error) {
      this.#finish(covered, error);
      return;
    }
    fsync(fd, (error) => this.#finish(covered, error ?? undefined));
  }

  #finish(covered: number, error: unknown): void {
    this.#inFlight = false;
    const done = this.#waiters.filter((w) => w.gen <= covered);
    this.#waiters = this.#waiters.filter((w) => w.gen > covered);
    for (const w of done) {
      if (error === undefined) w.resolve();
      else w.reject(error);
    }
    if (this.#waiters.length > 0) this.#start();
  }
}

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
 * Checkpoints the WAL into the database file from a worker thread with its own connection, so
 * the page copying and its fsyncs never run inside a request's COMMIT.
 */
export function startCheckpointer(filename: string, intervalMs = 200): { close(): Promise<void> } {
  // Bundlers replace `require.resolve("…")` with a module id (Next.js's Turbopack does, giving a
  // number): then let the worker resolve the package by name, from the working directory.
  const resolved: unknown = createRequire(import.meta.url).resolve("better-sqlite3");
  const driver = typeof resolved === "string" ? resolved : "better-sqlite3";
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
