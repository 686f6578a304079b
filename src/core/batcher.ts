import type { BatchJob, Settled, SyncStore } from "./store-contract.js";

interface Pending<T> {
  job: BatchJob<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: jobs submitted while a batch is committing wait and go together in the next
 * transaction, so one disk flush acknowledges many deliveries. A lone job at low load starts on
 * the next turn of the event loop, so latency stays one commit.
 *
 * @example
 * const commit = new GroupCommit(store);
 * const result = await commit.submit({ run: async (tx) => … });
 */
export class GroupCommit {
  #queue: Pending<unknown>[] = [];
  #inFlight = 0;
  #scheduled = false;
  #idle: (() => void)[] = [];

  constructor(
    private readonly store: SyncStore,
    private readonly maxBatch = 256,
  ) {}

  /** Read on every flush: a store opened lazily only knows its limit once open. */
  get #maxInFlight(): number {
    return Math.max(1, this.store.maxConcurrentBatches ?? 1);
  }

  submit<T>(job: BatchJob<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ job, resolve, reject } as Pending<unknown>);
      this.#schedule();
    });
  }

  /** Resolves once nothing is queued or committing (for graceful shutdown). */
  drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #schedule(): void {
    if (this.#inFlight >= this.#maxInFlight || this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate runs after this turn's I/O callbacks: requests that arrived together commit together.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= this.#maxInFlight) return;
    const batch = this.#queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.#inFlight++;
    let results: Settled<unknown>[];
    try {
      results = await this.store.runBatch(batch.map((p) => p.job));
    } catch (error) {
      results = batch.map(() => ({ ok: false, error }));
    }
    this.#inFlight--;
    batch.forEach((pending, i) => {
      const result = results[i] as Settled<unknown>;
      if (result.ok) pending.resolve(result.value);
      else pending.reject(result.error);
    });
    if (this.#queue.length > 0) this.#schedule();
    else if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }
}
