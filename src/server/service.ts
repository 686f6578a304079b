import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sendReply, toNodeListener } from "../adapters/node.js";
import { ClerkSyncError } from "../core/errors.js";
import { errorReply } from "../core/handler.js";
import { type Logger, silentLogger } from "../core/logger.js";
import { createClerkSync } from "../receiver/create-clerk-sync.js";
import type { ClerkSyncStore } from "../store/store.js";
import { describeDatabaseUrl, type ServiceConfig } from "./config.js";
import { redact } from "./log.js";
import type { MetricsServer, ServiceMetrics } from "./metrics.js";

/** Where `serve --dashboard` mounts the dashboard. */
export const DASHBOARD_PATH = "/dashboard";

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
 * `GET /readyz` (the database answers and takes writes: see `ClerkSyncStore.ping`). Its receiver is built by {@link createClerkSync} from the
 * receiver settings in `config`, exactly as an in-app receiver is. Checks the secrets and
 * migrates (unless `config.migrate` is false) before listening.
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
  // Everything but where to listen is the receiver's: a setting added there reaches the service.
  const {
    host: _host,
    port: _port,
    path: _path,
    headersTimeoutMs,
    requestTimeoutMs,
    maxConnections,
    metrics: metricsOn,
    metricsPort,
    metricsHost,
    dashboard: dashboardOn,
    dashboardToken,
    ...settings
  } = config;
  if (dashboardOn && dashboardToken === undefined) {
    throw new ClerkSyncError("invalid_config", "The dashboard is on but has no token: set CLERK_SYNC_DASHBOARD_TOKEN");
  }
  // Loaded only when on: prom-client is not for every process that imports clerk-sync.
  const metricsModule = metricsOn ? await import("./metrics.js") : undefined;
  const metrics: ServiceMetrics | undefined = metricsModule?.createServiceMetrics();
  const sync = createClerkSync({
    ...settings,
    logger: log,
    ...(metrics ? { observer: metrics.observer } : {}),
    // The settings are resolved already (flags, environment, .env files): read nothing again.
    env: {},
    ...(options.store ? { store: options.store } : {}),
  });
  let store: ClerkSyncStore;
  try {
    await sync.ready();
    store = await sync.store();
  } catch (error) {
    await sync.close().catch(() => undefined);
    await options.store?.close().catch(() => undefined);
    throw startFailure(error, config.databaseUrl);
  }
  const webhook = toNodeListener(sync);
  // Loaded only when on, like the metrics.
  const dashboard =
    dashboardOn && dashboardToken !== undefined
      ? (await import("../dashboard/dashboard.js")).createDashboard({
          sync,
          store,
          token: dashboardToken,
          prefix: DASHBOARD_PATH,
          logger: log,
        })
      : undefined;
  let closing = false;

  const serverOptions = {
    keepAliveTimeout: 65_000,
    // A client that takes longer for its headers, or its whole request (a trickled body), gets
    // 408 and its connection closed, so slow clients cannot hold connections and memory.
    headersTimeout: headersTimeoutMs,
    requestTimeout: requestTimeoutMs,
    // How often Node looks for such requests (its default, 30 s, would let them run 30 s over).
    connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersTimeoutMs / 4))),
  };
  const server = createServer(serverOptions, (req: IncomingMessage, res: ServerResponse) => {
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
    if (dashboard && (path === DASHBOARD_PATH || path?.startsWith(`${DASHBOARD_PATH}/`))) {
      dashboard(req, res);
      return;
    }
    if (metrics && path === metrics.path && metricsPort === undefined) {
      metrics.serve(req, res);
      return;
    }
    req.resume();
    if ((path === "/healthz" || path === "/readyz") && req.method !== "GET" && req.method !== "HEAD") {
      const refused = new ClerkSyncError("method_not_allowed", `${path} answers GET and HEAD`);
      sendReply(res, errorReply(refused), "GET, HEAD");
    } else if (path === "/healthz") {
      sendReply(res, { status: 200, body: { status: "ok" } });
    } else if (path === "/readyz") {
      store.ping().then(
        () => sendReply(res, { status: closing ? 503 : 200, body: { status: closing ? "shutting_down" : "ready" } }),
        (error: unknown) => {
          // Why, for the operator (rate-limited like every repeated warning); the reply stays coded.
          log.warn("not ready", { code: "store_unavailable", cause: describeCause(error) });
          sendReply(
            res,
            errorReply(new ClerkSyncError("store_unavailable", "The database does not answer or take writes")),
          );
        },
      );
    } else {
      sendReply(res, errorReply(new ClerkSyncError("not_found", `No route for ${path}`)));
    }
  });

  // Connections beyond the cap are closed as they arrive (Node's `drop` event); the log says so.
  server.maxConnections = maxConnections;
  server.on("drop", () =>
    log.warn("connection refused: too many open connections", { max_connections: maxConnections }),
  );

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  let metricsServer: MetricsServer | undefined;
  if (metricsModule && metrics && metricsPort !== undefined) {
    try {
      metricsServer = await metricsModule.startMetricsServer(metrics, metricsHost ?? config.host, metricsPort);
    } catch (error) {
      server.close();
      await sync.close().catch(() => undefined);
      throw error;
    }
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  const url = `http://${host}:${port}`;
  log.info("listening", {
    url: `${url}${config.path}`,
    database: describeDatabaseUrl(config.databaseUrl),
    signing_keys: config.secrets.length,
    ...(metrics ? { metrics: `${metricsServer?.url ?? url}${metrics.path}` } : {}),
    ...(dashboard ? { dashboard: `${url}${DASHBOARD_PATH}` } : {}),
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
        await stopped;
        clearInterval(sweep);
        clearTimeout(deadline);
        await metricsServer?.close();
        // Waits for deliveries still in flight (connections dropped at the deadline), then closes the store.
        await sync.close();
        log.info("stopped");
      })();
      return closed;
    },
  };
}

/**
 * Why the service could not start, coded: a coded error stays as it is; anything else came from
 * opening or migrating the database (refused or unreachable server, a directory that does not
 * exist, no permission to create tables) and is `store_unavailable`, its cause's text redacted.
 */
function startFailure(error: unknown, databaseUrl: string): ClerkSyncError {
  if (error instanceof ClerkSyncError) return error;
  const cause = error instanceof Error ? error.message || String((error as { code?: unknown }).code) : String(error);
  return new ClerkSyncError(
    "store_unavailable",
    `Cannot open or migrate the database ${describeDatabaseUrl(databaseUrl)}: ${String(redact(cause))}`,
    { cause: error },
  );
}

/** An error and its causes as one line of text, for logs. */
function describeCause(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    parts.push(e instanceof Error ? e.message || e.name : String(e));
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(": ");
}
