/**
 * One GET against the Backend API, with the client's pacing and retries: a 429 is waited out for
 * its `Retry-After` and the same request sent again (never counted as a failure); a network
 * error, a timeout or a 5xx is retried with doubling back-off, then fails as
 * `clerk_api_unavailable`; a refused key is `invalid_config`; any other refusal `clerk_api_error`.
 * Errors name the path and Clerk's error code, never the key.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ClerkSyncError } from "../core/errors.js";
import type { RequestPacer } from "./pacer.js";

/** The version of the Backend API the client asks for (the one `@clerk/backend` 3.x pins). */
export const CLERK_API_VERSION = "2026-05-12";

export interface RequestOptions {
  apiUrl: string;
  secretKey: string;
  pacer: RequestPacer;
  stats: { requests: number; rateLimited: number; retried: number };
  retries: number;
  retryDelayMs: number;
  maxRateLimitWaits: number;
  timeoutMs: number;
}

/** What a refusal from Clerk said (kept as the cause of coded errors; no secrets in it). */
export class ClerkApiResponseError extends Error {
  constructor(
    readonly status: number,
    readonly path: string,
    readonly clerkCode: string | undefined,
    readonly traceId: string | undefined,
  ) {
    super(`Clerk's Backend API answered ${status}${clerkCode ? ` ${clerkCode}` : ""} to GET ${path}`);
    this.name = "ClerkApiResponseError";
  }
}

/** Seconds of a `Retry-After` header (delay-seconds or an HTTP date), 1 when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number {
  if (header && /^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = header ? Date.parse(header) : Number.NaN;
  return Number.isNaN(date) ? 1000 : Math.max(0, date - now);
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function clerkError(body: unknown): { code?: string; traceId?: string } {
  if (typeof body !== "object" || body === null) return {};
  const { errors, clerk_trace_id } = body as { errors?: Array<{ code?: unknown }>; clerk_trace_id?: unknown };
  const code = Array.isArray(errors) && typeof errors[0]?.code === "string" ? errors[0].code : undefined;
  return {
    ...(code ? { code } : {}),
    ...(typeof clerk_trace_id === "string" ? { traceId: clerk_trace_id } : {}),
  };
}

/**
 * GETs `path` with `query` and returns the parsed JSON; null for a 404 `resource_not_found` when
 * `nullOn404` (a 404 without Clerk's error body is a wrong `apiUrl`, not a missing object).
 */
export async function sendWithRetries<T>(
  options: RequestOptions,
  path: string,
  query: [string, string][],
  nullOn404: boolean,
): Promise<T | null> {
  const url = new URL(`${options.apiUrl}${path}`);
  for (const [name, value] of query) url.searchParams.append(name, value);
  let failures = 0;
  let rateLimited = 0;
  let lastFailure: unknown;
  for (;;) {
    const release = await options.pacer.acquire();
    options.stats.requests++;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const response = await fetch(url, {
        headers: {
          authorization: `Bearer ${options.secretKey}`,
          "clerk-api-version": CLERK_API_VERSION,
          "user-agent": "clerk-sync",
        },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      text = await response.text();
    } catch (cause) {
      release();
      lastFailure = cause;
      if (failures >= options.retries) break;
      failures++;
      options.stats.retried++;
      await sleep(Math.min(30_000, options.retryDelayMs * 2 ** (failures - 1)));
      continue;
    }
    release();
    const body = parseBody(text);
    if (status === 429) {
      options.stats.rateLimited++;
      if (++rateLimited > options.maxRateLimitWaits) {
        lastFailure = new ClerkApiResponseError(429, path, clerkError(body).code, clerkError(body).traceId);
        break;
      }
      options.pacer.pauseUntil(Date.now() + retryAfterMs(retryAfter, Date.now()));
      continue;
    }
    const { code, traceId } = clerkError(body);
    if (status >= 500) {
      lastFailure = new ClerkApiResponseError(status, path, code, traceId);
      if (failures >= options.retries) break;
      failures++;
      options.stats.retried++;
      await sleep(Math.min(30_000, options.retryDelayMs * 2 ** (failures - 1)));
      continue;
    }
    if (status === 404 && nullOn404 && code === "resource_not_found") return null;
    if (status === 401 || status === 403) {
      throw new ClerkSyncError(
        "invalid_config",
        `Clerk's Backend API refused the secret key (${status}${code ? ` ${code}` : ""}): check CLERK_SECRET_KEY`,
        { cause: new ClerkApiResponseError(status, path, code, traceId) },
      );
    }
    if (status < 200 || status >= 300) {
      const cause = new ClerkApiResponseError(status, path, code, traceId);
      throw new ClerkSyncError("clerk_api_error", cause.message, { cause });
    }
    if (body === undefined) {
      const cause = new ClerkApiResponseError(status, path, undefined, undefined);
      throw new ClerkSyncError(
        "clerk_api_error",
        `Clerk's Backend API answered GET ${path} with a body that is not JSON`,
        {
          cause,
        },
      );
    }
    return body as T;
  }
  throw new ClerkSyncError(
    "clerk_api_unavailable",
    `Clerk's Backend API did not answer GET ${path} after ${failures + 1} attempts${rateLimited > options.maxRateLimitWaits ? " (rate limited throughout)" : ""}`,
    { cause: lastFailure },
  );
}
