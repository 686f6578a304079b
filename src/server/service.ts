import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sendReply, toNodeListener } from "../adapters/node.js";
import { SyncEngine } from "../core/engine.js";
import { ClerkSyncError } from "../core/errors.js";
import { createWebhookHandler, errorReply } from "../core/handler.js";
import { type Logger, silentLogger } from "../core/logger.js";
import { createVerifier } from "../core/verify.js";
import { openStore } from "../store/open.js";
import type { ClerkSyncStore } from "../store/store.js";
import { describeDatabaseUrl, type ServiceConfig } from "./config.js";

/** A running service. */
export interface RunningService {
  readonly url: string;
  readonly server: Server;
  readonly store: ClerkSyncStore;
  /** Stops taking requests, finishes in-flight deliveries, closes the database. */
  close(): Promise<void>;
}

/**
 * Starts the standalone service: `POST {path}` for webhooks, `GET /healthz` (the process is up),
 * `GET /readyz` (the database answers). Migrates first unless `config.migrate` is false.
 *
 * @example
 * const service = await startService(resolveConfig(process.env));
 */
export async function startService(
  config: ServiceConfig,
  options: { logger?: Logger; store?: ClerkSyncStore } = {},
): Promise<RunningService> {
  const log = options.logger ?? silentLogger;
  if (config.secrets.length === 0) {
    throw new ClerkSyncError("invalid_config", "No signing secret: set CLERK_WEBHOOK_SIGNING_SECRET");
  }
  const verify = createVerifier({ secrets: config.secrets, toleranceSeconds: config.toleranceSeconds });
  const store = options.store ?? (await openStore(config.databaseUrl));
  try {
    if (config.migrate) {
      const { applied } = await store.migrate();
      if (applied.length > 0) log.info("migrated", { applied });
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  const engine = new SyncEngine(store, { deleteMode: config.deleteMode });
  const handler = createWebhookHandler({ verify, engine, maxBodyBytes: config.maxBodyBytes, logger: log });
  const webhook = toNodeListener(handler);
  let closing = false;

  const server = createServer({ keepAliveTimeout: 65_000 }, (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === config.path) {
      if (closing) {
        req.resume();
        res.setHeader("connection", "close");
        sendReply(res, errorReply(new ClerkSyncError("shutting_down", "The service is shutting down")));
        return;
      }
      void webhook(req, res);
      return;
    }
    req.resume();
    if (path === "/healthz") {
      sendReply(res, { status: 200, body: { status: "ok" } });
    } else if (path === "/readyz") {
      store.ping().then(
        () => sendReply(res, { status: closing ? 503 : 200, body: { status: closing ? "shutting_down" : "ready" } }),
        () => sendReply(res, errorReply(new ClerkSyncError("store_unavailable", "The database does not answer"))),
      );
    } else {
      sendReply(res, errorReply(new ClerkSyncError("not_found", `No route for ${path}`)));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `http://${host}:${port}`;
  log.info("listening", {
    url: `${url}${config.path}`,
    database: describeDatabaseUrl(config.databaseUrl),
    signing_keys: config.secrets.length,
  });

  let closed: Promise<void> | undefined;
  return {
    url,
    server,
    store,
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        // Close keep-alive connections as soon as they go idle (their last reply sent); after
        // 2 s drop whatever is left.
        const sweep = setInterval(() => server.closeIdleConnections(), 25);
        const deadline = setTimeout(() => server.closeAllConnections(), 2_000);
        server.closeIdleConnections();
        await engine.drained();
        await stopped;
        clearInterval(sweep);
        clearTimeout(deadline);
        await engine.drained();
        await store.close();
        log.info("stopped");
      })();
      return closed;
    },
  };
}
