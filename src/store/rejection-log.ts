/**
 * The rejections log, written off the request path: the handler hands each refusal to
 * {@link RejectionLog.record}, which only queues it; a timer writes the queue in one multi-row
 * insert. A full queue (a flood of bad requests, a database that is down) drops the refusal and
 * counts it, rather than hold memory or a request.
 */
import { randomUUID } from "node:crypto";
import type { RejectionRecord, RejectionSink } from "../core/rejections.js";
import { type PrunableStore, pruneRejections, type RejectionRetention } from "./retention.js";

export interface RejectionLogOptions {
  /** Refusals queued at most (default 1,000); beyond, they are dropped and counted. */
  readonly maxQueue?: number;
  /** Largest insert (default 200 rows). */
  readonly batchSize?: number;
  /** How long a refusal waits for others before its batch is written (default 200 ms). */
  readonly flushMs?: number;
  /** The log's bounds, applied after each write. */
  readonly retention?: RejectionRetention;
  /** Told of each refusal dropped (metrics), and of a write that failed. */
  readonly onDrop?: (count: number) => void;
  readonly onError?: (error: unknown) => void;
  /** The clock, epoch ms (retention ages). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * A {@link RejectionSink} that keeps refusals in `clerk_webhook_rejections`.
 *
 * @example
 * const log = new RejectionLog(async () => store);
 * createWebhookHandler({ verify, engine, rejections: log });
 * await log.close(); // writes what is queued
 */
export class RejectionLog implements RejectionSink {
  readonly #store: () => Promise<PrunableStore>;
  readonly #options: RejectionLogOptions;
  #queue: RejectionRecord[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();
  /** Refusals dropped because the queue was full (or their write failed). */
  dropped = 0;
  /** Refusals written. */
  written = 0;

  constructor(store: () => Promise<PrunableStore>, options: RejectionLogOptions = {}) {
    this.#store = store;
    this.#options = options;
  }

  record(rejection: RejectionRecord): void {
    if (this.#queue.length >= (this.#options.maxQueue ?? 1000)) {
      this.#drop(1);
      return;
    }
    this.#queue.push(rejection);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        void this.flush();
      }, this.#options.flushMs ?? 200);
      this.#timer.unref?.();
    }
  }

  /** Writes what is queued (one write at a time); resolves once it is written or dropped. */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  /** Stops the timer and writes what is queued. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #write(): Promise<void> {
    const size = this.#options.batchSize ?? 200;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, size);
      try {
        const store = await this.#store();
        // Through the store's writer (SQLite: between batches, not against them).
        await store.transaction((tx) =>
          tx.db
            .insertInto("clerk_webhook_rejections")
            .values(
              batch.map((r) => ({
                id: randomUUID(),
                received_at: r.receivedAt,
                code: r.code,
                http_status: r.status,
                svix_id: r.svixId,
                source_address: r.sourceAddress,
                header_names: r.headerNames.join(","),
                body_bytes: r.bodyBytes,
              })),
            )
            .execute(),
        );
        this.written += batch.length;
        if (this.#options.retention) {
          await pruneRejections(store, this.#options.retention, (this.#options.now ?? Date.now)());
        }
      } catch (error) {
        this.#drop(batch.length);
        this.#options.onError?.(error);
      }
    }
  }

  #drop(count: number): void {
    this.dropped += count;
    try {
      this.#options.onDrop?.(count);
    } catch {
      // A faulty observer changes nothing.
    }
  }
}
