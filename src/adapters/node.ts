import type { IncomingMessage, ServerResponse } from "node:http";
import { ClerkSyncError } from "../core/errors.js";
import { errorReply, tooLarge, type WebhookHandler, type WebhookReply } from "../core/handler.js";
import { type ClerkSync, type ClerkSyncOptions, resolveClerkSync } from "../receiver/create-clerk-sync.js";

/** A Node request as connect-style frameworks (Express, Connect, …) hand it over. */
type NodeRequest = IncomingMessage & { body?: unknown; _body?: boolean };

/**
 * Reads a Node request body as raw bytes, refusing more than `limit` bytes without buffering
 * them. Takes the Buffer `express.raw()` leaves in `req.body`; refuses (`body_already_parsed`) a
 * body a parser such as `express.json()` already consumed, never re-serializing it.
 *
 * @example
 * const bytes = await readNodeBody(req, 1024 * 1024);
 */
export function readNodeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const { body, _body: consumed } = req as NodeRequest;
  if (Buffer.isBuffer(body)) return Promise.resolve(body);
  // Express 4's body-parser leaves `{}` on requests it skipped, with the stream unread: that is fine.
  const placeholder = typeof body === "object" && body !== null && Object.keys(body).length === 0;
  if (consumed === true || req.readableEnded || (body !== undefined && !placeholder)) {
    return Promise.reject(
      new ClerkSyncError(
        "body_already_parsed",
        'The request body was already parsed (by express.json() or another body parser), so its raw bytes are gone and the signature cannot be checked: mount the webhook route before express.json(), or give it the raw bytes with express.raw({ type: "*/*" })',
      ),
    );
  }
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) {
    discardRest(req, 0, limit);
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        discardRest(req, size, limit);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

/**
 * Reads and drops the rest of an oversize body so that the client, still sending, reads the 413
 * instead of a reset connection; a body that goes on far past the limit is cut off.
 */
function discardRest(req: IncomingMessage, seen: number, limit: number): void {
  let size = seen;
  const cap = Math.max(limit * 8, 16 * 1024 * 1024);
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size > cap) req.destroy();
  });
  req.resume();
}

/**
 * Writes a reply as JSON; a 405 names the methods `allow` lists (the webhook endpoint's: POST).
 *
 * @example
 * sendReply(res, { status: 200, body: { status: "ok" } });
 */
export function sendReply(res: ServerResponse, reply: WebhookReply, allow = "POST"): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...reply.headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    ...(reply.status === 405 ? { allow } : {}),
  });
  res.end(body);
}

/**
 * A node:http request listener for the webhook endpoint, around a handler or a `ClerkSync`.
 *
 * @example
 * http.createServer(toNodeListener(createClerkSync())).listen(3000);
 */
export function toNodeListener(
  handler: Pick<WebhookHandler, "handle" | "maxBodyBytes"> & Partial<Pick<WebhookHandler, "refuse">>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  // A refusal before `handle` is observed and logged by the handler when it can (`refuse`).
  return async (req, res) => {
    const remoteAddress = req.socket.remoteAddress;
    const refuse = (error: unknown) =>
      handler.refuse ? handler.refuse(error, { headers: req.headers, remoteAddress }) : errorReply(error);
    let reply: WebhookReply;
    if (req.method !== "POST") {
      req.resume();
      reply = refuse(new ClerkSyncError("method_not_allowed", "Webhook deliveries must be POSTed"));
    } else {
      try {
        const body = await readNodeBody(req, handler.maxBodyBytes);
        reply = await handler.handle({ method: "POST", headers: req.headers, body, remoteAddress });
      } catch (error) {
        reply = refuse(error);
      }
    }
    sendReply(res, reply);
  };
}

/**
 * A node:http request listener that receives Clerk's webhooks into your database: a
 * {@link createClerkSync} receiver (made from `options`, or the one you pass) behind
 * {@link toNodeListener}. It answers every path it is given; route to it yourself.
 *
 * @example
 * const webhooks = createClerkSyncListener(); // secret and DATABASE_URL from the environment
 * http.createServer((req, res) => {
 *   if (req.url === "/api/webhooks") return webhooks(req, res);
 *   res.writeHead(404).end();
 * }).listen(3000);
 */
export function createClerkSyncListener(
  options?: ClerkSyncOptions | ClerkSync,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return toNodeListener(resolveClerkSync(options));
}
