/**
 * The stand-in's rate limit, as Clerk documents its Backend API's: per secret key, N requests per
 * window (10 s at Clerk), and once they are used a 429 with `Retry-After` in whole seconds until
 * the window ends. A window starts with the first request after the previous one ended. Refused
 * requests do not use up the next window.
 */

/** A rate limit: `requests` per `windowMs`. */
export interface RateLimit {
  requests: number;
  /** Window length in ms (default 10,000, Clerk's). Tests use a short one. */
  windowMs?: number;
}

/** Clerk's documented limits: 100 requests per 10 s for development instances, 1,000 for production. */
export const CLERK_DEVELOPMENT_LIMIT: Required<RateLimit> = { requests: 100, windowMs: 10_000 };
export const CLERK_PRODUCTION_LIMIT: Required<RateLimit> = { requests: 1000, windowMs: 10_000 };

/** The verdict on one request: allowed, or refused with the seconds to wait. */
export type RateVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Fixed windows per key. */
export class WindowLimiter {
  readonly requests: number;
  readonly windowMs: number;
  readonly #windows = new Map<string, { start: number; used: number }>();

  constructor(
    limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.requests = limit.requests;
    this.windowMs = limit.windowMs ?? 10_000;
  }

  /** Counts one request of `key`, or refuses it when its window is used up. */
  take(key: string): RateVerdict {
    const now = this.now();
    let window = this.#windows.get(key);
    if (!window || now >= window.start + this.windowMs) {
      window = { start: now, used: 0 };
      this.#windows.set(key, window);
    }
    if (window.used < this.requests) {
      window.used++;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((window.start + this.windowMs - now) / 1000)) };
  }
}
