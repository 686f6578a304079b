/**
 * Real HTTP servers on 127.0.0.1 (port chosen by the OS) for each framework the adapters serve:
 * node:http, Express, Hono on @hono/node-server, and a stand-in for `next start` that hands the
 * route a Web Request built from the node:http request, as Next's Node.js runtime does.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { serve } from "@hono/node-server";
import express, { type Express } from "express";
import { Hono } from "hono";

/** A listening server. */
export interface Served {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

/** Waits until `server` listens and describes it. */
export async function listening(server: Server): Promise<Served> {
  if (!server.listening) await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A node:http server answering every request with `listener`. */
export function serveNode(listener: RequestListener): Promise<Served> {
  return listening(createServer(listener).listen(0, "127.0.0.1"));
}

/** An Express app set up by `setup`, listening; `createApp`: another Express (e.g. Express 4). */
export function serveExpress(setup: (app: Express) => void, createApp: () => Express = express): Promise<Served> {
  const app = createApp();
  setup(app);
  return listening(app.listen(0, "127.0.0.1"));
}

/** A Hono app set up by `setup`, served by @hono/node-server. */
export function serveHono(setup: (app: Hono) => void): Promise<Served> {
  const app = new Hono();
  setup(app);
  return listening(serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }) as Server);
}

/**
 * A node:http server that turns each request into a Web `Request` (body streamed, not read),
 * calls `handler` and writes its `Response` back: what `next start` does for a Route Handler.
 * Every method reaches `handler` (Next itself answers 405 for methods a route does not export).
 */
export function serveWebHandler(handler: (request: Request) => Promise<Response>): Promise<Served> {
  return serveNode((req, res) => {
    handler(toWebRequest(req))
      .then(async (response) => {
        const body = Buffer.from(await response.arrayBuffer());
        res.writeHead(response.status, Object.fromEntries(response.headers));
        res.end(body);
      })
      .catch((error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`harness: ${String(error)}`);
      });
  });
}

function toWebRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const item of [value ?? []].flat()) headers.append(name, item);
  }
  const method = req.method ?? "GET";
  const init: RequestInit & { duplex?: "half" } = { method, headers };
  if (method !== "GET" && method !== "HEAD") {
    init.body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    init.duplex = "half";
  }
  return new Request(`http://${req.headers.host ?? "127.0.0.1"}${req.url ?? "/"}`, init);
}
