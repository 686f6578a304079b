import type { IncomingMessage, ServerResponse } from "node:http";
import { ClerkSyncError } from "../core/errors.js";
import { errorReply, tooLarge, type WebhookHandler, type WebhookReply } from "../core/handler.js";

/**
 * Reads a Node request body as raw bytes, refusing more than `limit` bytes without buffering
 * them. Refuses a body some middleware already consumed and parsed.
 *
 * @example
 * const bytes = await readNodeBody(req, 1024 * 1024);
 */
export function readNodeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (parsed !== undefined && !Buffer.isBuffer(parsed)) {
    return Promise.reject(
      new ClerkSyncError(
        "body_already_parsed",
        "The request body was already parsed by a middleware, so its raw bytes are gone; mount the webhook route before any body parser",
      ),
    );
  }
  if (Buffer.isBuffer(parsed)) return Promise.resolve(parsed);
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

/** Writes a reply as JSON. */
export function sendReply(res: ServerResponse, reply: WebhookReply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    ...(reply.status === 405 ? { allow: "POST" } : {}),
  });
  res.end(body);
}

/**
 * A node:http request listener for the webhook endpoint.
 *
 * @example
 * http.createServer(toNodeListener(handler)).listen(3000);
 */
export function toNodeListener(handler: WebhookHandler): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    let reply: WebhookReply;
    if (req.method !== "POST") {
      req.resume();
      reply = errorReply(new ClerkSyncError("method_not_allowed", "Webhook deliveries must be POSTed"));
    } else {
      try {
        const body = await readNodeBody(req, handler.maxBodyBytes);
        reply = await handler.handle({ method: "POST", headers: req.headers, body });
      } catch (error) {
        reply = errorReply(error);
      }
    }
    if (reply.status === 413) res.setHeader("connection", "close");
    sendReply(res, reply);
  };
}
