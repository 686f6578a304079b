import type { DeliveryResult, SyncEngine } from "./engine.js";
import { ClerkSyncError, type ErrorCode, toStoreError } from "./errors.js";
import type { HeaderSource } from "./headers.js";
import { type Logger, silentLogger } from "./logger.js";
import { observe, type SyncObserver } from "./observer.js";
import { type RefusedRequest, type RejectionSink, rejectionRecord } from "./rejections.js";
import { parseEvent } from "./validate.js";
import type { Verifier } from "./verify.js";

/** Default largest body accepted: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookHandlerOptions {
  verify: Verifier;
  engine: Pick<SyncEngine, "process">;
  /** Largest accepted body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  logger?: Logger;
  /** Told each request's outcome, type, code and apply time (metrics). */
  observer?: SyncObserver;
  /** Where requests refused before the engine are logged (the rejections log); never awaited. */
  rejections?: RejectionSink;
  /** The clock for rejection times, in epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** A request as adapters hand it over: method, headers and the untouched raw body. */
export interface WebhookInput {
  method: string;
  headers: HeaderSource;
  body: Uint8Array;
  /** The client's address, when the adapter knows it (for the rejections log). */
  remoteAddress?: string | undefined;
}

/** What to answer: a status and a small JSON body. */
export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
  /** Response headers to send besides `content-type` (see {@link ABORT_MESSAGE}). */
  headers?: Record<string, string>;
}

/**
 * Svix's delivery control (docs.svix.com/receiving/delivery-control): a response carrying
 * `webhook-delivery: abort-message` stops the retries of the message just sent. Sent with
 * `unstorable_payload`, whose delivery would be refused on every attempt (it stays in the
 * delivery log, replayable).
 */
export const ABORT_MESSAGE = { "webhook-delivery": "abort-message" } as const;

export interface WebhookHandler {
  /** Handles a request whose body the adapter already read (within `maxBodyBytes`). */
  handle(input: WebhookInput): Promise<WebhookReply>;
  /** Web-standard entry: reads the body itself, enforcing the limit. */
  fetch(request: Request): Promise<Response>;
  /**
   * The reply for a request an adapter refused before `handle` (not POST, a body over the limit,
   * a body already parsed): observed and logged as `handle` does with the requests it refuses.
   */
  refuse(error: unknown, request?: RefusedRequest): WebhookReply;
  readonly maxBodyBytes: number;
}

/**
 * The reply for an error: its status from the one code → status table, and a JSON body with
 * the code. An error without a code is a bug in clerk-sync (the stores code every database
 * failure): `internal_error` (500), so that Svix retries and a fixed version applies it.
 *
 * @example
 * const { status, body } = errorReply(new ClerkSyncError("invalid_signature", "…"));
 */
export function errorReply(error: unknown): WebhookReply {
  const coded = toStoreError(error);
  const body = { error: { code: coded.code, message: coded.message } };
  if (coded.code === "unstorable_payload") return { status: coded.status, body, headers: { ...ABORT_MESSAGE } };
  return { status: coded.status, body };
}

/**
 * Reads a Web request body into bytes, refusing more than `limit` bytes (413) without buffering
 * the excess, and a body something else already read (`body_already_parsed`).
 *
 * @example
 * const bytes = await readBody(request, 1024 * 1024);
 */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  if (request.bodyUsed || request.body?.locked) {
    throw new ClerkSyncError(
      "body_already_parsed",
      "The request body was already read by a middleware, so its raw bytes are gone; mount the webhook route before anything that reads the body",
    );
  }
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return new Uint8Array(0);
  if (declared <= limit) {
    // A declared length within the limit: one read of the whole body (the runtime enforces the
    // declared length), cheaper than pulling chunks through a reader.
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge(limit);
    return bytes;
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** The 413 error for a body over `limit` bytes. */
export function tooLarge(limit: number): ClerkSyncError {
  return new ClerkSyncError("payload_too_large", `The body is larger than ${limit} bytes`);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The web-standard core every adapter and the service call: verify the raw bytes, parse and
 * validate the event, apply it, and answer 2xx only once the effects are durable.
 *
 * @example
 * const handler = createWebhookHandler({ verify, engine });
 * export const POST = (req: Request) => handler.fetch(req);
 */
export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const { verify, engine } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = options.logger ?? silentLogger;
  const { observer, rejections } = options;
  const now = options.now ?? Date.now;

  /** Hands a refusal to the rejections log; a faulty sink never changes a reply. */
  function logRejection(reply: WebhookReply, request: RefusedRequest): void {
    if (!rejections) return;
    try {
      const code = (reply.body.error as { code: ErrorCode }).code;
      rejections.record(rejectionRecord(code, reply.status, request, now()));
    } catch {
      // The reply stands.
    }
  }

  async function handle(input: WebhookInput): Promise<WebhookReply> {
    let svixId: string | undefined;
    let type: string | null = null;
    let started: number | undefined;
    try {
      if (input.method !== "POST") {
        throw new ClerkSyncError("method_not_allowed", "Webhook deliveries must be POSTed");
      }
      if (input.body.byteLength > maxBodyBytes) throw tooLarge(maxBodyBytes);
      const verified = verify(input.body, input.headers);
      svixId = verified.id;
      let rawBody: string;
      try {
        rawBody = utf8.decode(input.body);
      } catch (cause) {
        throw new ClerkSyncError("invalid_payload", "The body is not valid UTF-8", { cause });
      }
      const parsed = parseEvent(rawBody);
      type = parsed.event.type;
      started = performance.now();
      const result: DeliveryResult = await engine.process({ svixId, rawBody, parsed });
      observe(observer, "delivery", {
        outcome: result.outcome,
        type,
        code: null,
        status: 200,
        applySeconds: (performance.now() - started) / 1000,
      });
      log.debug("delivery", {
        svix_id: svixId,
        type: result.type,
        object_id: result.objectId,
        outcome: result.outcome,
      });
      return {
        status: 200,
        body: { status: result.outcome, type: result.type, svix_id: svixId, object_id: result.objectId },
      };
    } catch (error) {
      const reply = errorReply(error);
      const code = (reply.body.error as { code: string }).code;
      observeError(reply, type, started);
      if (started === undefined) {
        logRejection(reply, {
          headers: input.headers,
          remoteAddress: input.remoteAddress,
          bodyBytes: input.body.byteLength,
        });
      }
      if (reply.status >= 500) {
        const cause = error instanceof Error ? (error.cause ?? error) : error;
        log.error("delivery failed", { svix_id: svixId, code, cause: describe(cause) });
      } else {
        // A refused content's reason is in the delivery log too, unless its id could not be recorded.
        const reason =
          code === "unstorable_payload" ? { reason: (reply.body.error as { message: string }).message } : {};
        log.warn("delivery rejected", { svix_id: svixId, code, status: reply.status, ...reason });
      }
      return reply;
    }
  }

  /** Tells the observer of an error reply: `failed` in the engine once it `started`, else `rejected`. */
  function observeError(reply: WebhookReply, type: string | null, started: number | undefined): void {
    if (!observer) return;
    observe(observer, "delivery", {
      ...(started === undefined
        ? { outcome: "rejected" as const }
        : { outcome: "failed" as const, applySeconds: (performance.now() - started) / 1000 }),
      type,
      code: (reply.body.error as { code: ErrorCode }).code,
      status: reply.status,
    });
  }

  function refuse(error: unknown, request: RefusedRequest = {}): WebhookReply {
    const reply = errorReply(error);
    observeError(reply, null, undefined);
    logRejection(reply, request);
    const code = (reply.body.error as { code: ErrorCode }).code;
    if (reply.status >= 500) log.error("delivery failed", { code, cause: describe(error) });
    else log.warn("delivery rejected", { code, status: reply.status });
    return reply;
  }

  return {
    maxBodyBytes,
    handle,
    refuse,
    async fetch(request) {
      let reply: WebhookReply;
      if (request.method !== "POST") {
        reply = refuse(new ClerkSyncError("method_not_allowed", "Webhook deliveries must be POSTed"), {
          headers: request.headers,
        });
      } else {
        try {
          const body = await readBody(request, maxBodyBytes);
          reply = await handle({ method: request.method, headers: request.headers, body });
        } catch (error) {
          reply = refuse(error, { headers: request.headers });
        }
      }
      return Response.json(reply.body, {
        status: reply.status,
        headers: { ...reply.headers, ...(reply.status === 405 ? { allow: "POST" } : {}) },
      });
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
