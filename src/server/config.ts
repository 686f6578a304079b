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
}

/** Environment variables read, with their meaning (for docs and `--help`). */
export const ENVIRONMENT = {
  ...RECEIVER_ENVIRONMENT,
  PORT: "HTTP port (default 3000)",
  HOST: "Interface to listen on (default 0.0.0.0)",
  CLERK_SYNC_PATH: "Webhook endpoint path (default /api/webhooks)",
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
  return {
    ...settings,
    host: flags.host ?? env.HOST ?? "0.0.0.0",
    port: port === "0" ? 0 : positiveInt("PORT", port),
    path,
    logLevel: settings.logLevel ?? "info",
  };
}

/** A database URL fit for logs: any password removed. */
export function describeDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
