import { ClerkSyncError } from "../core/errors.js";
import type { LogLevel } from "../core/logger.js";
import {
  type Env,
  parseEventList,
  RECEIVER_ENVIRONMENT,
  type ReceiverSettingOptions,
  type ReceiverSettings,
  resolveReceiverSettings,
} from "../receiver/receiver-settings.js";

/**
 * The service's configuration, resolved from flags, environment and `.env` files: the settings
 * of its receiver (read as every in-app receiver reads them) plus where it listens.
 */
export interface ServiceConfig extends ReceiverSettings {
  host: string;
  port: number;
  /** Path of the webhook endpoint. Default `/api/webhooks` as in Clerk's guide. */
  path: string;
  logLevel: LogLevel;
  /** Longest wait for a request's headers, in ms (Node's `server.headersTimeout`). */
  headersTimeoutMs: number;
  /**
   * Longest wait for a whole request, headers and body, in ms (Node's `server.requestTimeout`):
   * a client still sending after it gets 408 and its connection is closed.
   */
  requestTimeoutMs: number;
  /** Open connections at most; further ones are closed as they arrive (`server.maxConnections`). */
  maxConnections: number;
  /** Serve Prometheus metrics at `/metrics` (default false). */
  metrics: boolean;
  /** A port of its own for `/metrics` (then the webhook port answers 404 there); absent: the webhook port. */
  metricsPort?: number;
  /** The interface the metrics port listens on (default: `host`). */
  metricsHost?: string;
  /** Serve the dashboard at `/dashboard` (default false). */
  dashboard: boolean;
  /** The dashboard's sign-in token (`CLERK_SYNC_DASHBOARD_TOKEN`); needed when `dashboard` is on. */
  dashboardToken?: string;
}

/**
 * Defaults of the HTTP limits. Svix gives up on an answer after 15 s and sends a whole body at
 * once, so a request still arriving after 10 s is not Svix's.
 */
export const HTTP_LIMIT_DEFAULTS = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  maxConnections: 1_000,
} as const;

/** Environment variables read, with their meaning (for docs and `--help`). */
export const ENVIRONMENT = {
  ...RECEIVER_ENVIRONMENT,
  PORT: "HTTP port (default 3000)",
  HOST: "Interface to listen on (default 0.0.0.0)",
  CLERK_SYNC_PATH: "Webhook endpoint path (default /api/webhooks)",
  CLERK_SYNC_HEADERS_TIMEOUT_MS: "Longest wait for a request's headers, ms (default 5000)",
  CLERK_SYNC_REQUEST_TIMEOUT_MS: "Longest wait for a whole request, headers and body, ms (default 10000); then 408",
  CLERK_SYNC_MAX_CONNECTIONS: "Open connections at most (default 1000); more are closed on arrival",
  CLERK_SYNC_METRICS: "true: serve Prometheus metrics at /metrics; false (default): 404 there",
  CLERK_SYNC_METRICS_PORT: "A port of its own for /metrics (default: the webhook port); needs CLERK_SYNC_METRICS=true",
  CLERK_SYNC_METRICS_HOST: "Interface the metrics port listens on (default: HOST)",
  CLERK_SYNC_DASHBOARD: "true: serve the dashboard at /dashboard; false (default): 404 there",
  CLERK_SYNC_DASHBOARD_TOKEN:
    "The dashboard's sign-in token (16 characters or more); in development one is created in .env.local when missing",
} as const;

/** Flags given on the command line; each overrides its variable. */
export interface ConfigFlags {
  secret?: string[];
  databaseUrl?: string;
  port?: string;
  host?: string;
  path?: string;
  logLevel?: string;
  migrate?: boolean;
  /** Event-type patterns, each comma or space separated (`--events user.*,organization.*`). */
  events?: string[];
  headersTimeoutMs?: string;
  requestTimeoutMs?: string;
  maxConnections?: string;
  metrics?: boolean;
  metricsPort?: string;
  dashboard?: boolean;
}

/** How errors name the settings that came from flags. */
const FLAG_LABELS = {
  secrets: "--secret",
  databaseUrl: "--database-url",
  logLevel: "--log-level",
  events: "--events",
} as const;

function positiveInt(name: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) {
    throw new ClerkSyncError("invalid_config", `${name} must be a positive whole number, got "${value}"`);
  }
  return Number(value);
}

/**
 * Resolves the configuration. `secrets` may come back empty; the caller decides whether a
 * development secret may be created.
 *
 * @example
 * const config = resolveConfig(loadEnvFiles(cwd, process.env), { port: "4000" });
 */
export function resolveConfig(env: Env, flags: ConfigFlags = {}): ServiceConfig {
  const fromFlags: ReceiverSettingOptions = {};
  if (flags.secret !== undefined) fromFlags.secrets = flags.secret.join(" ");
  if (flags.databaseUrl !== undefined) fromFlags.databaseUrl = flags.databaseUrl;
  if (flags.migrate !== undefined) fromFlags.migrate = flags.migrate;
  if (flags.logLevel !== undefined) fromFlags.logLevel = flags.logLevel as LogLevel; // checked as it resolves
  if (flags.events !== undefined) {
    const events = flags.events.flatMap(parseEventList);
    if (events.length > 0) fromFlags.events = events;
  }
  const settings = resolveReceiverSettings(fromFlags, env, { logging: true, labels: FLAG_LABELS });
  const path = flags.path ?? env.CLERK_SYNC_PATH ?? "/api/webhooks";
  if (!path.startsWith("/"))
    throw new ClerkSyncError("invalid_config", `The endpoint path must start with /, got "${path}"`);
  const port = flags.port ?? env.PORT ?? "3000";
  const limit = (flag: string | undefined, flagName: string, variable: string, fallback: number) => {
    if (flag !== undefined) return positiveInt(flagName, flag);
    const value = env[variable];
    return value === undefined || value === "" ? fallback : positiveInt(variable, value);
  };
  const headersTimeoutMs = limit(
    flags.headersTimeoutMs,
    "--headers-timeout-ms",
    "CLERK_SYNC_HEADERS_TIMEOUT_MS",
    HTTP_LIMIT_DEFAULTS.headersTimeoutMs,
  );
  const requestTimeoutMs = limit(
    flags.requestTimeoutMs,
    "--request-timeout-ms",
    "CLERK_SYNC_REQUEST_TIMEOUT_MS",
    HTTP_LIMIT_DEFAULTS.requestTimeoutMs,
  );
  // Node refuses a headers timeout longer than the request's: say which settings disagree.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ClerkSyncError(
      "invalid_config",
      `CLERK_SYNC_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed CLERK_SYNC_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`,
    );
  }
  const metrics = resolveMetrics(env, flags);
  const dashboard = flags.dashboard ?? booleanSetting(env, "CLERK_SYNC_DASHBOARD");
  const dashboardToken = env.CLERK_SYNC_DASHBOARD_TOKEN?.trim() || undefined;
  return {
    ...settings,
    ...metrics,
    dashboard,
    ...(dashboardToken !== undefined ? { dashboardToken } : {}),
    host: flags.host ?? env.HOST ?? "0.0.0.0",
    port: port === "0" ? 0 : positiveInt("PORT", port),
    path,
    logLevel: settings.logLevel ?? "info",
    headersTimeoutMs,
    requestTimeoutMs,
    maxConnections: limit(
      flags.maxConnections,
      "--max-connections",
      "CLERK_SYNC_MAX_CONNECTIONS",
      HTTP_LIMIT_DEFAULTS.maxConnections,
    ),
  };
}

/** A `true`/`false` variable (empty or absent: false). */
function booleanSetting(env: Env, name: string): boolean {
  const text = env[name] || "false";
  if (text !== "true" && text !== "false") {
    throw new ClerkSyncError("invalid_config", `${name} must be true or false, got "${text}"`);
  }
  return text === "true";
}

/** `/metrics`: off unless `CLERK_SYNC_METRICS=true` (or `--metrics`); its own port only when on. */
function resolveMetrics(env: Env, flags: ConfigFlags): Pick<ServiceConfig, "metrics" | "metricsPort" | "metricsHost"> {
  let metrics = flags.metrics;
  if (metrics === undefined) {
    const text = env.CLERK_SYNC_METRICS || "false";
    if (text !== "true" && text !== "false") {
      throw new ClerkSyncError("invalid_config", `CLERK_SYNC_METRICS must be true or false, got "${text}"`);
    }
    metrics = text === "true";
  }
  const portText = flags.metricsPort ?? (env.CLERK_SYNC_METRICS_PORT || undefined);
  const portName = flags.metricsPort !== undefined ? "--metrics-port" : "CLERK_SYNC_METRICS_PORT";
  if (portText === undefined) return { metrics };
  // A port given while metrics are off would be a listener nobody asked for, or a silent no-op.
  if (!metrics) {
    throw new ClerkSyncError("invalid_config", `${portName} is set but metrics are off: set CLERK_SYNC_METRICS=true`);
  }
  const metricsPort = portText === "0" ? 0 : positiveInt(portName, portText);
  return { metrics, metricsPort, metricsHost: env.CLERK_SYNC_METRICS_HOST || flags.host || env.HOST || "0.0.0.0" };
}

/** A database URL fit for logs: any password removed. */
export function describeDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
