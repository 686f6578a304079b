/**
 * The client's side of the rate limit: at most N requests in any window, and a pause for every
 * caller after a 429 until its `Retry-After` has passed.
 *
 * A request's slot counts from when it is sent until one window after its response arrived.
 * The server counted the request at some moment between the two, so the next request a freed
 * slot lets through reaches the server at least one window after it: the client never goes over
 * a limit of the same size whatever the latency, and in-flight requests count too (concurrent
 * callers share one pacer).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { RateLimit } from "./rate-limiter.js";

export class RequestPacer {
  readonly #limit: Required<RateLimit> | null;
  readonly #now: () => number;
  /** Response times of finished requests still inside the window, oldest first. */
  readonly #finished: number[] = [];
  #inFlight = 0;
  #pausedUntil = 0;
  #released: Array<() => void> = [];

  constructor(limit: Required<RateLimit> | null, now: () => number = Date.now) {
    this.#limit = limit;
    this.#now = now;
  }

  /** Waits for a slot; call the returned function when the response has arrived (or failed). */
  async acquire(): Promise<() => void> {
    for (;;) {
      const now = this.#now();
      if (this.#pausedUntil > now) {
        await sleep(this.#pausedUntil - now);
        continue;
      }
      if (!this.#limit) break;
      const windowStart = now - this.#limit.windowMs;
      while (this.#finished.length > 0 && (this.#finished[0] as number) <= windowStart) this.#finished.shift();
      if (this.#inFlight + this.#finished.length < this.#limit.requests) break;
      const oldest = this.#finished[0];
      if (oldest === undefined) await new Promise<void>((resolve) => this.#released.push(resolve));
      else await sleep(oldest + this.#limit.windowMs - now + 1);
    }
    this.#inFlight++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      if (this.#limit) this.#finished.push(this.#now());
      const waiting = this.#released;
      this.#released = [];
      for (const wake of waiting) wake();
    };
  }

  /** Holds every request until `until` (epoch ms), e.g. after a 429's `Retry-After`. */
  pauseUntil(until: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, until);
  }
}
