/**
 * The closed set of error codes clerk-sync produces, and the one place that maps
 * a code to an HTTP status. Callers branch on `code`, never on `message`.
 */
export const ERROR_STATUS = {
  /** A `svix-id` / `svix-timestamp` / `svix-signature` (or `webhook-*`) header is absent. */
  missing_headers: 400,
  /** The timestamp header is not a whole number of seconds. */
  invalid_timestamp: 400,
  /** The delivery was signed more than the tolerance ago (replay, or a clock far behind). */
  timestamp_too_old: 401,
  /** The delivery claims to be signed more than the tolerance in the future (clock skew). */
  timestamp_too_new: 401,
  /** No `v1,` signature in the header matches any configured secret. */
  invalid_signature: 401,
  /** The body is not JSON, or not a Clerk event envelope. */
  invalid_payload: 400,
  /** The envelope is fine but a field clerk-sync stores has the wrong type. */
  invalid_event: 400,
  /** The body exceeds the configured limit. */
  payload_too_large: 413,
  /** Only POST is accepted on the webhook endpoint. */
  method_not_allowed: 405,
  /** The framework handed over a body that was already parsed: the raw bytes are gone. */
  body_already_parsed: 500,
  /** A configured signing secret is not a valid `whsec_…` / base64 secret. */
  invalid_secret: 500,
  /** Configuration is missing or malformed. */
  invalid_config: 500,
  /** A user hook threw inside the sync transaction; the transaction was rolled back. */
  hook_failed: 500,
  /**
   * The database refused the delivery for its content (a value too long for its column or key,
   * text or JSON it cannot hold, a number out of its range): it would be refused on every
   * attempt, so it is a permanent 4xx, recorded as `failed` with the database's reason. The raw
   * payload stays in the delivery row for a replay once the data (or the database) is fixed.
   */
  unstorable_payload: 422,
  /**
   * A bug in clerk-sync (a TypeError, a RangeError, …) while applying a delivery; recorded as
   * `failed` with its reason. A 5xx, so Svix retries: a fixed version applies the retry.
   */
  internal_error: 500,
  /**
   * The database failed or is unreachable (connection refused or lost, timeouts, disk full,
   * lock timeouts, deadlocks after the retries, "database is locked"); the transaction was
   * rolled back. Only the database's own failures: Svix retries and the retry applies.
   */
  store_unavailable: 503,
  /** The service is shutting down and takes no new deliveries. */
  shutting_down: 503,
  /** No route for this path. */
  not_found: 404,
  /** The dashboard was asked for without a valid session, or its login was given a wrong token. */
  unauthorized: 401,
  /**
   * A state-changing dashboard request (a POST) without the session's CSRF token, or from
   * another origin (its `Origin` header): refused, nothing changed.
   */
  csrf_failed: 403,
  /** A replay named a delivery id that is not in `clerk_webhook_events`. */
  unknown_delivery: 404,
  /** A replay named a delivery whose payload retention has removed: there is nothing to replay. */
  payload_pruned: 410,
  /** A list or replay filter that means nothing (an unknown status, a time range backwards, a bad cursor). */
  invalid_filter: 400,
  /** Clerk's Backend API could not be reached, or kept failing (5xx, timeouts, 429s) through the retries. */
  clerk_api_unavailable: 503,
  /** Clerk's Backend API refused a request (a 4xx other than an expected 404) or answered something unreadable. */
  clerk_api_error: 502,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * The one error type clerk-sync throws. `code` is stable API; `cause` keeps the original error.
 *
 * @example
 * try { verify(body, headers) } catch (e) {
 *   if (e instanceof ClerkSyncError && e.code === "timestamp_too_old") { … }
 * }
 */
export class ClerkSyncError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClerkSyncError";
    this.code = code;
    this.status = ERROR_STATUS[code];
  }
}

/**
 * Whether `value` is a ClerkSyncError, optionally with the given code.
 *
 * @example
 * if (isClerkSyncError(err, "invalid_signature")) res.statusCode = 401;
 */
export function isClerkSyncError(value: unknown, code?: ErrorCode): value is ClerkSyncError {
  return value instanceof ClerkSyncError && (code === undefined || value.code === code);
}

/**
 * Codes a failure met while applying a delivery. The stores code the database's own errors
 * (`store_unavailable`, `unstorable_payload`) before the core sees them, so anything else that
 * is not yet a ClerkSyncError is a bug in clerk-sync: `internal_error` (500), whose message
 * names the error so that the delivery log shows it.
 */
export function toStoreError(error: unknown): ClerkSyncError {
  if (isClerkSyncError(error)) return error;
  return new ClerkSyncError(
    "internal_error",
    `Internal error; the delivery was not applied (${describeError(error)})`,
    {
      cause: error,
    },
  );
}

/** `Name: message` of an error, or the value as text, bounded for the delivery log. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
