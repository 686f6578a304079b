import { createHmac, timingSafeEqual } from "node:crypto";
import { ClerkSyncError } from "./errors.js";
import { type HeaderSource, toHeaderLookup } from "./headers.js";

/** Seconds either side of the verifier's clock that a delivery's timestamp may be. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export interface VerifierOptions {
  /**
   * One or more signing secrets (`whsec_…` or bare base64). Several secrets let a key be
   * rotated without dropping deliveries: a delivery verifies if any of them signed it.
   */
  secrets: string | readonly string[];
  /** Allowed clock difference in seconds, both ways. Default 300. */
  toleranceSeconds?: number;
  /** The clock, in epoch milliseconds. Default `Date.now`. Inject it in tests. */
  now?: () => number;
}

/** What a verified delivery tells us about itself. */
export interface VerifiedDelivery {
  /** `svix-id`: stable across retries of the same message; the idempotency key. */
  id: string;
  /** `svix-timestamp`: the signing time of this attempt, in epoch seconds. */
  timestamp: number;
}

/** Verifies one delivery's raw bytes and headers; throws a {@link ClerkSyncError} on failure. */
export type Verifier = (payload: Uint8Array | string, headers: HeaderSource) => VerifiedDelivery;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DIGITS = /^\d{1,15}$/;

/**
 * Decodes a `whsec_…` (or bare base64) signing secret into its key bytes.
 *
 * @example
 * const key = decodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
 */
export function decodeSecret(secret: string): Buffer {
  const trimmed = secret.trim();
  const base64 = trimmed.startsWith("whsec_") ? trimmed.slice(6) : trimmed;
  if (base64.length === 0 || !BASE64.test(base64)) {
    // Never echo the secret itself.
    throw new ClerkSyncError(
      "invalid_secret",
      "A signing secret is not a whsec_… value with a base64 key (copy it from the Clerk Dashboard's webhook endpoint page)",
    );
  }
  return Buffer.from(base64, "base64");
}

/**
 * Splits a configuration value holding one or more secrets (space or comma separated).
 *
 * @example
 * parseSecretList("whsec_old, whsec_new"); // ["whsec_old", "whsec_new"]
 */
export function parseSecretList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Signs content the way Svix does: base64(HMAC-SHA256(key, `${id}.${timestamp}.${payload}`)).
 * Returns the bare base64 signature (no `v1,` prefix).
 *
 * @example
 * const sig = computeSignature(decodeSecret(secret), "msg_1", 1700000000, body);
 */
export function computeSignature(
  key: Uint8Array,
  id: string,
  timestamp: number | string,
  payload: Uint8Array | string,
): string {
  return createHmac("sha256", key).update(`${id}.${timestamp}.`).update(payload).digest("base64");
}

function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  // UTF-8, not latin1: latin1 keeps only the low byte of each char, so "\u0167" would equal "g".
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Creates a verifier for the Svix / Standard Webhooks scheme: the HMAC is computed over the raw
 * bytes exactly as received, never over a re-serialised body.
 *
 * Headers may be named `svix-*` (what Clerk sends) or `webhook-*` (Standard Webhooks).
 *
 * @example
 * const verify = createVerifier({ secrets: process.env.CLERK_WEBHOOK_SIGNING_SECRET! });
 * const { id, timestamp } = verify(rawBody, request.headers);
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const list = typeof options.secrets === "string" ? parseSecretList(options.secrets) : options.secrets;
  if (list.length === 0) {
    throw new ClerkSyncError("invalid_secret", "No signing secret configured");
  }
  const keys = list.map(decodeSecret);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = options.now ?? Date.now;

  return (payload, headerSource) => {
    const header = toHeaderLookup(headerSource);
    let id = header("svix-id");
    let timestampHeader = header("svix-timestamp");
    let signatureHeader = header("svix-signature");
    if (!id || !timestampHeader || !signatureHeader) {
      id = header("webhook-id");
      timestampHeader = header("webhook-timestamp");
      signatureHeader = header("webhook-signature");
    }
    if (!id || !timestampHeader || !signatureHeader) {
      throw new ClerkSyncError(
        "missing_headers",
        "Missing svix-id, svix-timestamp or svix-signature header (or their webhook-* equivalents)",
      );
    }
    if (!DIGITS.test(timestampHeader)) {
      throw new ClerkSyncError("invalid_timestamp", "The svix-timestamp header is not a number of seconds");
    }
    const timestamp = Number(timestampHeader);
    const nowSeconds = Math.floor(now() / 1000);
    if (nowSeconds - timestamp > tolerance) {
      throw new ClerkSyncError(
        "timestamp_too_old",
        `The delivery was signed more than ${tolerance}s ago; check this machine's clock if deliveries are fresh`,
      );
    }
    if (timestamp > nowSeconds + tolerance) {
      throw new ClerkSyncError(
        "timestamp_too_new",
        `The delivery is signed more than ${tolerance}s in the future; check this machine's clock`,
      );
    }
    const candidates: string[] = [];
    for (const entry of signatureHeader.split(" ")) {
      const [version, signature] = entry.split(",");
      if (version === "v1" && signature) candidates.push(signature);
    }
    if (candidates.length > 0) {
      for (const key of keys) {
        const expected = computeSignature(key, id, timestamp, payload);
        for (const candidate of candidates) {
          if (constantTimeEqual(expected, candidate)) return { id, timestamp };
        }
      }
    }
    throw new ClerkSyncError("invalid_signature", "No signature matches the configured signing secret(s)");
  };
}
