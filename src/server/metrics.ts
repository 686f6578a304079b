import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { sendReply } from "../adapters/node.js";
import { ClerkSyncError, ERROR_STATUS, type ErrorCode } from "../core/errors.js";
import { isKnownEventType } from "../core/events.js";
import { errorReply } from "../core/handler.js";
import type { BatchObservation, DeliveryObservation, SyncObserver } from "../core/observer.js";

/** Where the service serves `/metrics`. */
/** 4xx codes that are no refusal of a webhook request (a missing route, a stored delivery's content, replay's). */
const NOT_REJECTIONS = new Set([
  "not_found",
  "unstorable_payload",
  "unknown_delivery",
  "payload_pruned",
  "invalid_filter",
]);

export const METRICS_PATH = "/metrics";

/** The label value of an event type clerk-sync does not know, so that the set of series stays bounded. */
export const UNKNOWN_TYPE_LABEL = "unknown";

/** Error codes that are the store's (or a hook's) failure to apply a delivery. */
const STORE_ERROR_CODES: readonly ErrorCode[] = [
  "store_unavailable",
  "unstorable_payload",
  "internal_error",
  "hook_failed",
];

/** The service's Prometheus metrics: the observer the core feeds, and their exposition. */
export interface ServiceMetrics {
  /** Fed by the webhook handler and the group commit (see {@link SyncObserver}). */
  readonly observer: SyncObserver;
  /** The exposition, in Prometheus' text format. */
  text(): Promise<string>;
  readonly contentType: string;
  /** {@link METRICS_PATH}. */
  readonly path: string;
  /** Answers a request for {@link METRICS_PATH}: GET or HEAD, else 405. */
  serve(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * The service's metrics on a registry of their own (never prom-client's global one, which an
 * app embedding clerk-sync may use). Labels are event types, outcomes and error codes only: no
 * delivery id, object id, address or secret ever becomes a label, so the exposition holds
 * nothing secret. `processMetrics: false` leaves out prom-client's process and Node.js metrics.
 *
 * @example
 * const metrics = createServiceMetrics();
 * const sync = createClerkSync({ observer: metrics.observer });
 * const text = await metrics.text();
 */
export function createServiceMetrics(options: { processMetrics?: boolean; now?: () => number } = {}): ServiceMetrics {
  const now = options.now ?? Date.now;
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const deliveries = new Counter({
    name: "clerk_sync_deliveries_total",
    help: "Verified deliveries by event type and outcome (applied, stale, duplicate, ignored, failed)",
    labelNames: ["type", "outcome"] as const,
    registers: [registry],
  });
  const rejections = new Counter({
    name: "clerk_sync_rejections_total",
    help: "Requests to the webhook endpoint refused before they were applied, by error code",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  const applySeconds = new Histogram({
    name: "clerk_sync_apply_duration_seconds",
    help: "Time from a verified delivery's hand-over to the engine until its outcome (its batch's commit included)",
    labelNames: ["outcome"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: "clerk_sync_batch_size",
    help: "Deliveries per store transaction (group commit), by kind: plans (no hooks) or jobs (with hooks)",
    labelNames: ["kind"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: "clerk_sync_store_errors_total",
    help: "Deliveries the store failed to apply in their batch, by error code",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  const rejectionsDropped = new Counter({
    name: "clerk_sync_rejections_log_dropped_total",
    help: "Refused requests the rejections log dropped (its queue full or its write failed); the requests were answered all the same",
    registers: [registry],
  });
  const lastApplied = new Gauge({
    name: "clerk_sync_last_applied_timestamp_seconds",
    help: "When this process last applied a delivery (Unix seconds); 0 until it has",
    registers: [registry],
  });

  // Series that alerts compute rates of start at 0, so their first increase is seen.
  for (const [code, status] of Object.entries(ERROR_STATUS)) {
    if (status >= 400 && status < 500 && !NOT_REJECTIONS.has(code)) {
      rejections.inc({ code }, 0);
    }
  }
  for (const code of STORE_ERROR_CODES) {
    storeErrors.inc({ code }, 0);
  }
  for (const kind of ["plans", "jobs"]) batchSize.zero({ kind });

  const observer: SyncObserver = {
    delivery(o: DeliveryObservation) {
      if (o.outcome === "rejected") {
        rejections.inc({ code: o.code ?? "unknown" });
        return;
      }
      const type = o.type !== null && isKnownEventType(o.type) ? o.type : UNKNOWN_TYPE_LABEL;
      deliveries.inc({ type, outcome: o.outcome });
      if (o.applySeconds !== undefined) applySeconds.observe({ outcome: o.outcome }, o.applySeconds);
      if (o.outcome === "applied") lastApplied.set(now() / 1000);
    },
    batch(o: BatchObservation) {
      batchSize.observe({ kind: o.kind }, o.size);
      for (const code of o.failures) storeErrors.inc({ code });
    },
    rejectionsDropped(o) {
      rejectionsDropped.inc(o.count);
    },
  };

  return {
    observer,
    path: METRICS_PATH,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    serve(req, res) {
      req.resume();
      if (req.method !== "GET" && req.method !== "HEAD") {
        const refused = new ClerkSyncError("method_not_allowed", `${METRICS_PATH} answers GET and HEAD`);
        sendReply(res, errorReply(refused), "GET, HEAD");
        return;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType, "content-length": Buffer.byteLength(text) });
          res.end(req.method === "HEAD" ? undefined : text);
        },
        () => sendReply(res, errorReply(new ClerkSyncError("internal_error", "The metrics could not be collected"))),
      );
    },
  };
}

/** A listener of its own for `/metrics` (`CLERK_SYNC_METRICS_PORT`): answers nothing else. */
export interface MetricsServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves `metrics` on `host:port` (`/metrics` only; every other path is 404).
 *
 * @example
 * const server = await startMetricsServer(metrics, "127.0.0.1", 9464);
 */
export async function startMetricsServer(metrics: ServiceMetrics, host: string, port: number): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path === METRICS_PATH) {
      metrics.serve(req, res);
      return;
    }
    req.resume();
    sendReply(res, errorReply(new ClerkSyncError("not_found", `No route for ${path}`)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  return {
    url: `http://${shown}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
