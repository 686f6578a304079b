import { toStoreError } from "./errors.js";
import { observe, type SyncObserver } from "./observer.js";
import type { DeliveryOutcome } from "./schema.js";
import type { DeliveryJob, DeliveryPlan, Settled, SyncStore } from "./store-contract.js";

interface Waiting<T> {
  readonly item: T;
  readonly resolve: (outcome: DeliveryOutcome) => void;
  readonly reject: (error: unknown) => void;
}

/** A queue of one kind of delivery and the store method that applies a batch of it. */
class Lane<T> {
  readonly queue: Waiting<T>[] = [];
  /** Submission number of each queued delivery, to take the lane whose head waited longest. */
  readonly seq: number[] = [];
  constructor(
    readonly kind: "plans" | "jobs",
    readonly apply: (items: readonly T[]) => Promise<Settled<DeliveryOutcome>[]>,
  ) {}
}

/**
 * Group commit: deliveries submitted while a batch is committing wait and go together in the
 * next transaction, so one disk flush acknowledges many deliveries. A lone delivery at low load
 * starts on the next turn of the event loop, so latency stays one commit.
 *
 * Plans (deliveries without hooks) and jobs (with hooks) queue apart and go in batches of
 * their own kind, so a hooked delivery never pushes hook-free ones off the store's fast path.
 * The lane whose oldest delivery waited longest goes first.
 *
 * @example
 * const commit = new GroupCommit(store);
 * const outcome = await commit.submitPlan(plan);
 */
export class GroupCommit<Db = unknown> {
  readonly #plans: Lane<DeliveryPlan>;
  readonly #jobs: Lane<DeliveryJob<Db>>;
  #submitted = 0;
  #inFlight = 0;
  #scheduled = false;
  #idle: (() => void)[] = [];

  constructor(
    private readonly store: SyncStore<Db>,
    private readonly maxBatch = 256,
    /** Told each batch's kind, size and failures (metrics). */
    private readonly observer?: SyncObserver,
  ) {
    this.#plans = new Lane("plans", (plans) => store.applyPlans(plans));
    this.#jobs = new Lane("jobs", (jobs) => store.applyJobs(jobs));
  }

  /** Read on every flush: a store opened lazily only knows its limit once open. */
  get #maxInFlight(): number {
    return Math.max(1, this.store.maxConcurrentBatches ?? 1);
  }

  submitPlan(plan: DeliveryPlan): Promise<DeliveryOutcome> {
    return this.#submit(this.#plans, plan);
  }

  submitJob(job: DeliveryJob<Db>): Promise<DeliveryOutcome> {
    return this.#submit(this.#jobs, job);
  }

  /** Resolves once nothing is queued or committing (for graceful shutdown). */
  drained(): Promise<void> {
    if (this.#inFlight === 0 && this.#queued() === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #submit<T>(lane: Lane<T>, item: T): Promise<DeliveryOutcome> {
    return new Promise((resolve, reject) => {
      lane.queue.push({ item, resolve, reject });
      lane.seq.push(this.#submitted++);
      this.#schedule();
    });
  }

  #queued(): number {
    return this.#plans.queue.length + this.#jobs.queue.length;
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

  /** The lane to take the next batch from: the one whose head was submitted first. */
  #nextLane(): Lane<DeliveryPlan> | Lane<DeliveryJob<Db>> | undefined {
    const plan = this.#plans.seq[0];
    const job = this.#jobs.seq[0];
    if (plan === undefined) return job === undefined ? undefined : this.#jobs;
    return job !== undefined && job < plan ? this.#jobs : this.#plans;
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= this.#maxInFlight) return;
    const lane = this.#nextLane();
    if (lane === undefined) return;
    await this.#run(lane as Lane<unknown>);
    if (this.#queued() > 0) this.#schedule();
    else if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #run<T>(lane: Lane<T>): Promise<void> {
    const batch = lane.queue.splice(0, this.maxBatch);
    lane.seq.splice(0, batch.length);
    this.#inFlight++;
    // Another lane may start its batch while this one commits.
    if (this.#queued() > 0) this.#schedule();
    let results: Settled<DeliveryOutcome>[];
    try {
      results = await lane.apply(batch.map((w) => w.item));
    } catch (error) {
      results = batch.map(() => ({ ok: false, error }));
    }
    this.#inFlight--;
    if (this.observer) {
      const failures = results.flatMap((r) => (r.ok ? [] : [toStoreError(r.error).code]));
      observe(this.observer, "batch", { kind: lane.kind, size: batch.length, failures });
    }
    batch.forEach((waiting, i) => {
      const result = results[i] as Settled<DeliveryOutcome>;
      if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
  }
}
