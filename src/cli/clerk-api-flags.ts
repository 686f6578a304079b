import { type ClerkApiClient, createClerkApiClient } from "../clerk-api/client.js";
import { ClerkSyncError } from "../core/errors.js";

/** The options of the commands that read Clerk's Backend API (backfill, reconcile). */
export const CLERK_API_OPTIONS = {
  "api-url": { type: "string" },
  "secret-key": { type: "string" },
  "rate-limit": { type: "string" },
  "rate-window-ms": { type: "string" },
} as const;

/** A whole number from a flag, or `fallback` when it is absent. */
export function wholeFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new ClerkSyncError("invalid_config", `--${name} must be a whole number, got "${value}"`);
  return Number(value);
}

/**
 * The Backend API client those options describe: `--api-url` / `--secret-key` over
 * `CLERK_API_URL` / `CLERK_SECRET_KEY` (from `env`, which includes .env files), paced at
 * `--rate-limit` requests (default 100, Clerk's development limit; 0: no pacing) per
 * `--rate-window-ms` (default 10 s, Clerk's window).
 */
export function clerkApiClientFrom(
  values: { "api-url"?: string; "secret-key"?: string; "rate-limit"?: string; "rate-window-ms"?: string },
  env: Readonly<Record<string, string | undefined>>,
): ClerkApiClient {
  const requests = wholeFlag("rate-limit", values["rate-limit"], 100);
  const windowMs = wholeFlag("rate-window-ms", values["rate-window-ms"], 10_000);
  if (windowMs === 0) throw new ClerkSyncError("invalid_config", "--rate-window-ms must be at least 1");
  return createClerkApiClient({
    env,
    ...(values["api-url"] !== undefined ? { apiUrl: values["api-url"] } : {}),
    ...(values["secret-key"] !== undefined ? { secretKey: values["secret-key"] } : {}),
    rateLimit: requests === 0 ? false : { requests, windowMs },
  });
}
