import type { DeleteMode } from "../core/engine.js";
import { ClerkSyncError } from "../core/errors.js";
import { DEFAULT_MAX_BODY_BYTES } from "../core/handler.js";
import type { LogLevel } from "../core/logger.js";
import { DEFAULT_TOLERANCE_SECONDS, parseSecretList } from "../core/verify.js";
import { DEFAULT_DATABASE_URL } from "../store/open.js";
import { isLogLevel } from "./log.js";

/** The service's configuration, resolved from flags, environment and `.env` files. */
export interface ServiceConfig {
  secrets: string[];
  databaseUrl: string;
  host: string;
  port: number;
  /** Path of the webhook endpoint. Default `/api/webhooks` as in Clerk's guide. */
  path: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
  deleteMode: DeleteMode;
  logLevel: LogLevel;
  /** Run migrations on start. Default true. */
  migrate: boolean;
}

/** Environment variables read, with their meaning (for docs and `--help`). */
export const ENVIRONMENT = {
  CLERK_WEBHOOK_SIGNING_SECRET: "Signing secret(s), whsec_…; several separated by spaces or commas (key rotation)",
  SIGNING_SECRET: "Accepted as in Clerk's guide when CLERK_WEBHOOK_SIGNING_SECRET is unset",
  DATABASE_URL: `Where to sync: file:./path.db (SQLite, default ${DEFAULT_DATABASE_URL}), postgres://… (?schema=name), mysql://… or mariadb://…`,
  PORT: "HTTP port (default 3000)",
  HOST: "Interface to listen on (default 0.0.0.0)",
  CLERK_SYNC_PATH: "Webhook endpoint path (default /api/webhooks)",
  CLERK_SYNC_MAX_BODY_BYTES: `Largest accepted body (default ${DEFAULT_MAX_BODY_BYTES})`,
  CLERK_SYNC_TOLERANCE_SECONDS: `Allowed clock skew of svix-timestamp (default ${DEFAULT_TOLERANCE_SECONDS})`,
  CLERK_SYNC_DELETE_MODE: "soft (default) or hard",
  CLERK_SYNC_MIGRATE: "Run migrations on start: true (default) or false",
  LOG_LEVEL: "debug, info (default), warn or error",
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
}

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
export function resolveConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: ConfigFlags = {},
): ServiceConfig {
  const secretText = flags.secret?.join(" ") ?? env.CLERK_WEBHOOK_SIGNING_SECRET ?? env.SIGNING_SECRET ?? "";
  const logLevel = flags.logLevel ?? env.LOG_LEVEL ?? "info";
  if (!isLogLevel(logLevel)) {
    throw new ClerkSyncError("invalid_config", `LOG_LEVEL must be debug, info, warn or error, got "${logLevel}"`);
  }
  const deleteMode = env.CLERK_SYNC_DELETE_MODE ?? "soft";
  if (deleteMode !== "soft" && deleteMode !== "hard") {
    throw new ClerkSyncError("invalid_config", `CLERK_SYNC_DELETE_MODE must be soft or hard, got "${deleteMode}"`);
  }
  const migrateText = env.CLERK_SYNC_MIGRATE ?? "true";
  if (migrateText !== "true" && migrateText !== "false") {
    throw new ClerkSyncError("invalid_config", `CLERK_SYNC_MIGRATE must be true or false, got "${migrateText}"`);
  }
  const path = flags.path ?? env.CLERK_SYNC_PATH ?? "/api/webhooks";
  if (!path.startsWith("/"))
    throw new ClerkSyncError("invalid_config", `The endpoint path must start with /, got "${path}"`);
  const port = flags.port ?? env.PORT ?? "3000";
  return {
    secrets: parseSecretList(secretText),
    databaseUrl: flags.databaseUrl ?? env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    host: flags.host ?? env.HOST ?? "0.0.0.0",
    port: port === "0" ? 0 : positiveInt("PORT", port),
    path,
    maxBodyBytes: positiveInt(
      "CLERK_SYNC_MAX_BODY_BYTES",
      env.CLERK_SYNC_MAX_BODY_BYTES ?? String(DEFAULT_MAX_BODY_BYTES),
    ),
    toleranceSeconds: positiveInt(
      "CLERK_SYNC_TOLERANCE_SECONDS",
      env.CLERK_SYNC_TOLERANCE_SECONDS ?? String(DEFAULT_TOLERANCE_SECONDS),
    ),
    deleteMode,
    logLevel,
    migrate: flags.migrate ?? migrateText === "true",
  };
}

/** A database URL fit for logs: any password removed. */
export function describeDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
