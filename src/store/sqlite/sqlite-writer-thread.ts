import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { ClerkSyncError, type ErrorCode } from "../../core/errors.js";
import type { DeliveryOutcome } from "../../core/schema.js";
import type { DeliveryPlan, Settled } from "../../core/store-contract.js";

/**
 * The version of the messages below. A bundled copy of clerk-sync (Next.js) starts the worker
 * from the installed package's files; should the two differ, the worker declines to run.
 */
export const WRITER_PROTOCOL = 3;

/** What the writer thread is started with. */
export interface WriterThreadData {
  readonly filename: string;
  readonly lockTimeoutMs: number;
  readonly protocol: number;
}
/** Main → writer: a batch to apply, or the request to finish and close. */
export type WriterRequest = { readonly id: number; readonly plans: readonly DeliveryPlan[] } | "close";
/** A job's result as it crosses threads: errors travel as their code and text. */
export type WriterSettled =
  | { readonly ok: true; readonly value: DeliveryOutcome }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string; readonly cause: string };
/**
 * Writer → main: started, or a batch's results (once durable); `unsynced`: the WAL sync failed,
 * and no commit can be made durable any more (see `WalFlusher`); `failed`: the batch failed as a
 * whole, the database refused the transaction (read-only, disk full), absent when it committed.
 */
export type WriterReply =
  | {
      readonly id: number;
      readonly results: readonly WriterSettled[];
      readonly unsynced?: string;
      readonly failed?: string;
    }
  | "ready";

/**
 * The worker's module: beside this one, or, when a bundler inlined clerk-sync (this module is
 * then a chunk of the app's build), in the clerk-sync package installed where the app runs.
 */
function workerEntry(): URL | undefined {
  // A path joined at run time, not `new URL("./…", import.meta.url)`: bundlers copy such a file
  // alone as an asset, without the modules it imports.
  const self = fileURLToPath(import.meta.url);
  const beside = join(dirname(self), `sqlite-writer-worker${self.endsWith(".ts") ? ".ts" : ".js"}`);
  if (existsSync(beside)) return pathToFileURL(beside);
  try {
    // A specifier in a variable: bundlers leave it alone, Node resolves it at run time.
    const name = "clerk-sync/package.json";
    const manifest = createRequire(join(process.cwd(), "noop.js")).resolve(name);
    const installed = pathToFileURL(join(dirname(manifest), "dist", "store", "sqlite", "sqlite-writer-worker.js"));
    return existsSync(installed) ? installed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long the writer thread stays without a batch before it ends (started again by the next
 * one, which then waits for the thread to start: tens of milliseconds, once per idle period).
 */
export const WRITER_IDLE_MS = 30_000;

/** The writer thread's V8 young generation, MB (by default V8 lets it grow to tens of MB). */
export const WRITER_YOUNG_GENERATION_MB = 4;

interface Waiting {
  readonly resolve: (results: Settled<DeliveryOutcome>[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Applies batches of delivery plans on a worker thread with its own connection, so that SQLite's
 * work (statements, page writes, commits) runs beside the HTTP, verification and parsing of the
 * next requests instead of taking turns with them on one thread. Jobs with hooks cannot cross
 * threads and stay on the store's own connection; SQLite's write lock orders the two.
 *
 * `run` answers `undefined` when the thread is not available (its module is not on disk, as
 * when a bundler inlined clerk-sync, or it failed to start): the caller then writes in-thread.
 */
export class WriterThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiting>();
  readonly #ready: Promise<boolean>;
  readonly #idleMs: number;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #nextId = 0;
  #alive = true;
  #unsynced: string | undefined;
  #writeFailure: string | undefined;

  private constructor(entry: URL, data: WriterThreadData, idleMs: number) {
    const fromSource = entry.pathname.endsWith(".ts");
    this.#idleMs = idleMs;
    // The thread's V8 heap: only batches pass through it, and they are dropped once answered; a
    // small young generation keeps it from holding tens of MB of garbage between collections.
    const resourceLimits = { maxYoungGenerationSizeMb: WRITER_YOUNG_GENERATION_MB };
    // Running from TypeScript sources (the test suite): load the entry through tsx.
    this.#worker = fromSource
      ? new Worker(
          `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
          { eval: true, workerData: data, resourceLimits },
        )
      : new Worker(entry, { workerData: data, resourceLimits });
    this.#worker.unref();
    this.#ready = new Promise((resolve) => {
      this.#worker.once("message", (message: WriterReply) => resolve(message === "ready"));
      this.#worker.once("exit", () => resolve(false));
    });
    void this.#ready.then((ready) => {
      if (ready) this.#armIdle();
    });
    this.#worker.on("message", (message: WriterReply) => this.#settle(message));
    this.#worker.on("error", (error) => {
      process.emitWarning(`clerk-sync: the SQLite writer thread stopped; writing in-thread from now on: ${error}`);
    });
    this.#worker.on("exit", () => this.#stopped());
  }

  /**
   * Starts the writer thread for a database file, or answers undefined when it cannot run. After
   * `idleMs` without a batch the thread closes its connection and ends (see {@link retired}),
   * which hands its memory back: its V8 heap, its page cache and the pages it mapped.
   */
  static start(data: Omit<WriterThreadData, "protocol">, options: { idleMs?: number } = {}): WriterThread | undefined {
    const entry = workerEntry();
    return entry && new WriterThread(entry, { ...data, protocol: WRITER_PROTOCOL }, options.idleMs ?? WRITER_IDLE_MS);
  }

  /**
   * True once the thread was closed (idle, or by close()): the store starts a new one for the
   * next batch. A thread that stopped on an error is not retired: the store writes in-thread.
   */
  get retired(): boolean {
    return this.#closed !== undefined;
  }

  /** Applies the plans in one durable transaction; `undefined`: not available, write in-thread. */
  async run(plans: readonly DeliveryPlan[]): Promise<Settled<DeliveryOutcome>[] | undefined> {
    if (!(await this.#ready) || !this.#alive || this.#closed) return undefined;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#waiting.size === 0) {
        this.#worker.ref(); // a batch under way keeps the process alive
        clearTimeout(this.#idleTimer);
      }
      this.#waiting.set(id, { resolve, reject });
      try {
        this.#worker.postMessage({ id, plans } satisfies WriterRequest);
      } catch {
        // A plan the structured clone cannot copy (JSON nested deeper than its recursion goes):
        // this batch is written in-thread instead, where nothing is copied.
        this.#waiting.delete(id);
        if (this.#waiting.size === 0) this.#becameIdle();
        resolve(undefined);
      }
    });
  }

  /** Why the thread's commits can no longer be made durable (a failed WAL sync), or undefined. */
  get durabilityFailure(): string | undefined {
    return this.#unsynced;
  }

  /** Why the thread's last batch failed as a whole (see `SqliteWriter.writeFailure`), or undefined. */
  get writeFailure(): string | undefined {
    return this.#writeFailure;
  }

  /** Forgets the last batch's failure: a write has succeeded since. */
  clearWriteFailure(): void {
    this.#writeFailure = undefined;
    this.#armIdle();
  }

  /** Lets the batches under way finish, then closes the thread's connection. */
  close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#closed ??= (async () => {
      // Batches handed to run() before close() are posted before "close" (same promise, earlier turn).
      await this.#ready;
      if (!this.#alive) return;
      const exited = new Promise<void>((resolve) => this.#worker.once("exit", () => resolve()));
      this.#worker.ref();
      this.#worker.postMessage("close" satisfies WriterRequest);
      await exited;
    })();
    return this.#closed;
  }

  #becameIdle(): void {
    this.#worker.unref();
    this.#armIdle();
  }

  #armIdle(): void {
    clearTimeout(this.#idleTimer);
    if (this.#closed || !this.#alive || this.#waiting.size > 0) return;
    // A failure the store's readiness reports stays with the thread that saw it: a new thread
    // would not know it (a failed WAL sync is for good; a refused batch until a write succeeds).
    if (this.#unsynced !== undefined || this.#writeFailure !== undefined) return;
    this.#idleTimer = setTimeout(() => {
      if (this.#waiting.size === 0) void this.close();
    }, this.#idleMs);
    this.#idleTimer.unref();
  }

  #settle(message: WriterReply): void {
    if (message === "ready") return;
    this.#unsynced ??= message.unsynced;
    this.#writeFailure = message.failed;
    const waiting = this.#waiting.get(message.id);
    if (!waiting) return;
    this.#waiting.delete(message.id);
    if (this.#waiting.size === 0) this.#becameIdle();
    waiting.resolve(
      message.results.map((r) =>
        r.ok ? r : { ok: false, error: new ClerkSyncError(r.code, r.message, { cause: new Error(r.cause) }) },
      ),
    );
  }

  #stopped(): void {
    this.#alive = false;
    clearTimeout(this.#idleTimer);
    // Whether these batches committed is unknown: answer 5xx, Svix retries, the claim dedupes.
    const error = new ClerkSyncError("store_unavailable", "The SQLite writer thread stopped during the batch");
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
  }
}
