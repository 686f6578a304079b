/**
 * Requests refused before a verified delivery exists (missing headers, a bad signature, a stale
 * timestamp, a body too large or not JSON) go to a bounded log, so that "why am I getting 401s"
 * has an answer. The core only describes a refusal; a store keeps it (store/rejection-log.ts),
 * off the request path. Nothing secret and no body: header names, the body's size, the address.
 */
import type { ErrorCode } from "./errors.js";
import { type HeaderSource, toHeaderLookup } from "./headers.js";

/** One refused request, as the rejections log keeps it. */
export interface RejectionRecord {
  readonly receivedAt: number;
  readonly code: ErrorCode;
  readonly status: number;
  /** The `svix-id` (or `webhook-id`) header as sent, unverified; null when absent. */
  readonly svixId: string | null;
  readonly sourceAddress: string | null;
  /** Header names, lower-case (never their values). */
  readonly headerNames: readonly string[];
  /** The body's size in bytes; null when it was not read. */
  readonly bodyBytes: number | null;
}

/** Where the handler hands refusals: called synchronously, must neither block nor throw. */
export interface RejectionSink {
  record(rejection: RejectionRecord): void;
}

/** What the handler knows of a refused request. */
export interface RefusedRequest {
  readonly headers?: HeaderSource | undefined;
  readonly remoteAddress?: string | undefined;
  readonly bodyBytes?: number | undefined;
}

/** Longest delivery id kept from an unverified header (it is the key column's size). */
const MAX_ID = 255;

/**
 * The rejection record of a refused request: the id header as sent (bounded), header names only.
 *
 * @example
 * sink.record(rejectionRecord("invalid_signature", 401, { headers: req.headers }, Date.now()));
 */
export function rejectionRecord(
  code: ErrorCode,
  status: number,
  request: RefusedRequest,
  receivedAt: number,
): RejectionRecord {
  const get = request.headers === undefined ? undefined : toHeaderLookup(request.headers);
  const id = get?.("svix-id") ?? get?.("webhook-id") ?? null;
  return {
    receivedAt,
    code,
    status,
    svixId: id === null ? null : id.slice(0, MAX_ID),
    sourceAddress: request.remoteAddress?.slice(0, MAX_ID) ?? null,
    headerNames: request.headers === undefined ? [] : headerNames(request.headers),
    bodyBytes: request.bodyBytes ?? null,
  };
}

/** The names of `source`'s headers, lower-case, sorted, at most 64 (a lookup function names none). */
export function headerNames(source: HeaderSource): string[] {
  let names: string[] = [];
  if (typeof source === "function") return names;
  if (typeof Headers !== "undefined" && source instanceof Headers) names = [...source.keys()];
  else names = Object.keys(source);
  return [...new Set(names.map((n) => n.toLowerCase().slice(0, 64)))].sort().slice(0, 64);
}
