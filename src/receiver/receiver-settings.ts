import type { DeleteMode } from "../core/engine.js";
import { ClerkSyncError } from "../core/errors.js";
import { CLERK_EVENT_TYPES } from "../core/events.js";
import { DEFAULT_MAX_BODY_BYTES } from "../core/handler.js";
import { typeFilter } from "../core/hooks.js";
import { isLogLevel, type LogLevel } from "../core/logger.js";
import { DEFAULT_TOLERANCE_SECONDS, parseSecretList } from "../core/verify.js";
import { DEFAULT_DATABASE_URL } from "../store/open.js";

/** An environment: `process.env`, or variables read from `.env` files. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The settings every receiver (in-app or the standalone service) takes from its options or,
 * when an option is not given, from the environment.
 */
export interface ReceiverSettingOptions {
  /** Signing secret(s). Default: `CLERK_WEBHOOK_SIGNING_SECRET`, else `SIGNING_SECRET`. */
  secrets?: string | readonly string[];
  /** Default: `DATABASE_URL`, else `file:./clerk-sync.db`. Ignored when `store` is given. */
  databaseUrl?: string;
  /** Largest accepted body in bytes. Default: `CLERK_SYNC_MAX_BODY_BYTES`, else 1 MiB. */
  maxBodyBytes?: number;
  /** Allowed clock skew in seconds. Default: `CLERK_SYNC_TOLERANCE_SECONDS`, else 300. */
  toleranceSeconds?: number;
  /** `soft` or `hard`. Default: `CLERK_SYNC_DELETE_MODE`, else `soft`. */
  deleteMode?: DeleteMode;
  /**
   * Event types to mirror into tables: exact types, `kind.*` patterns or `*`; others are
   * recorded as `ignored`. Default: `CLERK_SYNC_EVENTS` (comma or space separated), else all.
   */
  events?: readonly string[];
  /** Migrate the database before the first delivery. Default: `CLERK_SYNC_MIGRATE`, else true. */
  migrate?: boolean;
  /**
   * Drops the logger's messages below this level. Default: `LOG_LEVEL` (read only by receivers
   * that have a logger), else every message reaches the logger.
   */
  logLevel?: LogLevel;
  /**
   * When a child arrives before its parent (an `organizationMembership.*` delivery whose user or
   * organization has no row), fetch the missing parent from Clerk's Backend API after the
   * delivery commits (never inside its transaction; a failure is logged, the delivery still 2xx).
   * Needs `CLERK_SECRET_KEY`. Default: `CLERK_SYNC_FETCH_MISSING_PARENTS`, else false.
   */
  fetchMissingParents?: boolean;
  /** Attempts kept per delivery id. Default: `CLERK_SYNC_ATTEMPTS_PER_DELIVERY`, else 20. */
  attemptsPerDelivery?: number;
  /** Log refused requests in `clerk_webhook_rejections`. Default: `CLERK_SYNC_LOG_REJECTIONS`, else true. */
  logRejections?: boolean;
  /** Rejections kept at most. Default: `CLERK_SYNC_REJECTIONS_MAX_ROWS`, else 10,000. */
  rejectionsMaxRows?: number;
  /** Days a rejection is kept. Default: `CLERK_SYNC_REJECTIONS_MAX_AGE_DAYS`, else 7. */
  rejectionsMaxAgeDays?: number;
  /** Payloads kept at most, the newest (failed deliveries' are always kept). Default: `CLERK_SYNC_PAYLOADS_MAX_ROWS`, else all. */
  payloadsMaxRows?: number;
  /** Days a payload is kept (failed deliveries' are always kept). Default: `CLERK_SYNC_PAYLOADS_MAX_AGE_DAYS`, else forever. */
  payloadsMaxAgeDays?: number;
}

/** The delivery log's bounds, resolved (see docs/replay.md). */
export interface LogRetentionSettings {
  attemptsPerDelivery: number;
  logRejections: boolean;
  rejectionsMaxRows: number;
  rejectionsMaxAgeDays: number;
  payloadsMaxRows?: number;
  payloadsMaxAgeDays?: number;
}

/** A receiver's settings, each resolved from its option, the environment or the default. */
export interface ReceiverSettings {
  /** May be empty: the receiver refuses deliveries then (the service refuses to start). */
  secrets: string[];
  databaseUrl: string;
  maxBodyBytes: number;
  toleranceSeconds: number;
  deleteMode: DeleteMode;
  /** Patterns of the types to mirror; undefined mirrors every type. */
  events?: readonly string[];
  migrate: boolean;
  /** Undefined: the logger gets every message. */
  logLevel?: LogLevel;
  fetchMissingParents: boolean;
  /** The delivery log's bounds. */
  retention: LogRetentionSettings;
  /**
   * `CLERK_SECRET_KEY` and `CLERK_API_URL` as read from the environment, in the shape of the
   * Backend API client's options (so the service hands them to `createClerkSync`'s `clerkApi`
   * as they are); checked only when the API is first needed (`ensureUser`,
   * `fetchMissingParents`), with errors naming the variables. Absent when neither is set.
   */
  clerkApi?: { env: { CLERK_SECRET_KEY?: string; CLERK_API_URL?: string } };
}

/** How {@link resolveReceiverSettings} reads its inputs. */
export interface ResolveSettingsContext {
  /** Whether the receiver logs: only then is `LOG_LEVEL` read (apps use the name for their own loggers). */
  logging?: boolean;
  /** How to name an option in errors (e.g. the CLI flag it came from). Default: `the <name> option`. */
  labels?: Partial<Record<keyof ReceiverSettingOptions, string>>;
}

/** The variables receivers read (in-app and the service alike), with their meaning. */
export const RECEIVER_ENVIRONMENT = {
  CLERK_WEBHOOK_SIGNING_SECRET: "Signing secret(s), whsec_…; several separated by spaces or commas (key rotation)",
  SIGNING_SECRET: "Accepted as in Clerk's guide when CLERK_WEBHOOK_SIGNING_SECRET is unset",
  DATABASE_URL: `Where to sync: file:./path.db (SQLite, default ${DEFAULT_DATABASE_URL}), postgres://… (?schema=name), mysql://… or mariadb://…`,
  CLERK_SYNC_MAX_BODY_BYTES: `Largest accepted body (default ${DEFAULT_MAX_BODY_BYTES})`,
  CLERK_SYNC_TOLERANCE_SECONDS: `Allowed clock skew of svix-timestamp (default ${DEFAULT_TOLERANCE_SECONDS})`,
  CLERK_SYNC_DELETE_MODE: "soft (default) or hard",
  CLERK_SYNC_EVENTS:
    "Event types to mirror, comma or space separated: exact types (user.created), kind.* patterns (user.*) or * (default: all); others are recorded as ignored",
  CLERK_SYNC_MIGRATE:
    "Migrate the database (the service on start, an in-app receiver before its first delivery): true (default) or false",
  CLERK_SYNC_FETCH_MISSING_PARENTS:
    "true: fetch a membership's missing user or organization from the Backend API after the delivery commits; false (default)",
  CLERK_SECRET_KEY:
    "The instance's secret key (sk_test_… / sk_live_…), for ensureUser and CLERK_SYNC_FETCH_MISSING_PARENTS only",
  CLERK_API_URL: "The Backend API's origin (default https://api.clerk.com), e.g. a local stand-in",
  CLERK_SYNC_ATTEMPTS_PER_DELIVERY: "Attempts kept per delivery id in clerk_webhook_attempts, the latest (default 20)",
  CLERK_SYNC_LOG_REJECTIONS: "Log refused requests in clerk_webhook_rejections: true (default) or false",
  CLERK_SYNC_REJECTIONS_MAX_ROWS: "Rejections kept at most, the newest (default 10000)",
  CLERK_SYNC_REJECTIONS_MAX_AGE_DAYS: "Days a rejection is kept (default 7)",
  CLERK_SYNC_PAYLOADS_MAX_ROWS:
    "Payloads kept in clerk_webhook_events, the newest (default: all); older ones are pruned, the row stays; failed deliveries keep theirs",
  CLERK_SYNC_PAYLOADS_MAX_AGE_DAYS:
    "Days a delivery's payload is kept (default: forever); the row stays; failed deliveries keep theirs",
  LOG_LEVEL: "debug, info (the service's default), warn or error; trace and fatal are read as debug and error",
} as const;

/** One name of an event type or kind: letters, digits and `_`, starting with a letter. */
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Splits a list of event-type patterns as `CLERK_SYNC_EVENTS` and `--events` take it: separated
 * by commas and/or spaces. An empty text gives an empty list.
 *
 * @example
 * parseEventList("user.*, organization.*"); // ["user.*", "organization.*"]
 */
export function parseEventList(text: string): string[] {
  return text.split(/[\s,]+/).filter((part) => part.length > 0);
}

/**
 * Checks event-type patterns: `*`, an exact type (`user.created`) or a kind's pattern
 * (`user.*`). A well-formed name clerk-sync does not know is accepted, since Clerk adds types
 * (see {@link unknownEventPatterns} to warn about typos); anything else is `invalid_config`.
 *
 * @example
 * checkEventPatterns(["user.*", "organization.created"], "CLERK_SYNC_EVENTS"); // returns them
 * checkEventPatterns(["user*"], "CLERK_SYNC_EVENTS"); // throws invalid_config
 */
export function checkEventPatterns(patterns: readonly string[], label: string): string[] {
  for (const pattern of patterns) {
    const parts = pattern.split(".");
    const last = parts.pop() as string;
    const wellFormed =
      pattern === "*" ||
      (parts.length > 0 && parts.every((part) => EVENT_NAME.test(part)) && (last === "*" || EVENT_NAME.test(last)));
    if (!wellFormed) {
      throw new ClerkSyncError(
        "invalid_config",
        `${label} has "${pattern}", which is neither an event type (user.created), a kind's pattern (user.*) nor *`,
      );
    }
  }
  return [...patterns];
}

/**
 * The patterns that match no event type clerk-sync knows: a typo, or a type newer than this
 * version (which it records as `ignored` whatever the filter says).
 *
 * @example
 * unknownEventPatterns(["user.*", "user.create"]); // ["user.create"]
 */
export function unknownEventPatterns(patterns: readonly string[]): string[] {
  return patterns.filter((pattern) => !CLERK_EVENT_TYPES.some(typeFilter([pattern])));
}

/** A positive whole number from its option, else its variable, else `fallback`. */
function positiveSetting<T extends number | undefined>(
  option: number | undefined,
  optionLabel: string,
  variable: string,
  env: Env,
  fallback: T,
): number | T {
  if (option !== undefined) return positiveInt(optionLabel, option);
  const text = env[variable];
  return text === undefined || text === "" ? fallback : positiveInt(variable, text);
}

/** `true`/`false` from its option, else its variable, else `fallback`. */
function booleanSetting(
  option: boolean | undefined,
  optionLabel: string,
  variable: string,
  env: Env,
  fallback: boolean,
) {
  if (option !== undefined) {
    if (typeof option !== "boolean") throw new ClerkSyncError("invalid_config", `${optionLabel} must be true or false`);
    return option;
  }
  const text = env[variable] ?? String(fallback);
  if (text !== "true" && text !== "false") {
    throw new ClerkSyncError("invalid_config", `${variable} must be true or false, got "${text}"`);
  }
  return text === "true";
}

/** The delivery log's bounds from options and the environment. */
function resolveRetention(
  options: ReceiverSettingOptions,
  env: Env,
  label: (key: keyof ReceiverSettingOptions) => string,
): LogRetentionSettings {
  const num = (key: keyof ReceiverSettingOptions, variable: string) =>
    positiveSetting(options[key] as number | undefined, label(key), variable, env, undefined);
  const payloadsMaxRows = num("payloadsMaxRows", "CLERK_SYNC_PAYLOADS_MAX_ROWS");
  const payloadsMaxAgeDays = num("payloadsMaxAgeDays", "CLERK_SYNC_PAYLOADS_MAX_AGE_DAYS");
  return {
    attemptsPerDelivery: num("attemptsPerDelivery", "CLERK_SYNC_ATTEMPTS_PER_DELIVERY") ?? 20,
    logRejections: booleanSetting(
      options.logRejections,
      label("logRejections"),
      "CLERK_SYNC_LOG_REJECTIONS",
      env,
      true,
    ),
    rejectionsMaxRows: num("rejectionsMaxRows", "CLERK_SYNC_REJECTIONS_MAX_ROWS") ?? 10_000,
    rejectionsMaxAgeDays: num("rejectionsMaxAgeDays", "CLERK_SYNC_REJECTIONS_MAX_AGE_DAYS") ?? 7,
    ...(payloadsMaxRows !== undefined ? { payloadsMaxRows } : {}),
    ...(payloadsMaxAgeDays !== undefined ? { payloadsMaxAgeDays } : {}),
  };
}

/** A whole number above zero, from an option or a variable. */
function positiveInt(label: string, value: number | string): number {
  const number = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new ClerkSyncError("invalid_config", `${label} must be a positive whole number, got "${value}"`);
  }
  return number;
}

function logLevelOf(label: string, value: string): LogLevel {
  const level = value === "trace" ? "debug" : value === "fatal" ? "error" : value;
  if (!isLogLevel(level)) {
    throw new ClerkSyncError("invalid_config", `${label} must be debug, info, warn or error, got "${value}"`);
  }
  return level;
}

/**
 * Resolves a receiver's settings: each option given wins, else its environment variable
 * ({@link RECEIVER_ENVIRONMENT}), else the default. Used by every in-app receiver (on its first
 * delivery) and by the service's `resolveConfig` (on start), so both read the same variables the
 * same way. A malformed value is `invalid_config`; nothing is opened or changed.
 *
 * @example
 * resolveReceiverSettings({ deleteMode: "hard" }, { CLERK_SYNC_EVENTS: "user.*" });
 * // { deleteMode: "hard", events: ["user.*"], maxBodyBytes: 1048576, … }
 */
export function resolveReceiverSettings(
  options: ReceiverSettingOptions,
  env: Env,
  context: ResolveSettingsContext = {},
): ReceiverSettings {
  const label = (key: keyof ReceiverSettingOptions) => context.labels?.[key] ?? `the ${key} option`;

  const secrets =
    options.secrets === undefined
      ? parseSecretList(env.CLERK_WEBHOOK_SIGNING_SECRET ?? env.SIGNING_SECRET ?? "")
      : typeof options.secrets === "string"
        ? parseSecretList(options.secrets)
        : [...options.secrets];

  const deleteMode = options.deleteMode ?? env.CLERK_SYNC_DELETE_MODE ?? "soft";
  if (deleteMode !== "soft" && deleteMode !== "hard") {
    const from = options.deleteMode === undefined ? "CLERK_SYNC_DELETE_MODE" : label("deleteMode");
    throw new ClerkSyncError("invalid_config", `${from} must be soft or hard, got "${deleteMode}"`);
  }

  let events: string[] | undefined;
  if (options.events !== undefined) {
    events = checkEventPatterns(options.events, label("events"));
  } else if (env.CLERK_SYNC_EVENTS !== undefined) {
    const listed = parseEventList(env.CLERK_SYNC_EVENTS);
    // An empty variable (`CLERK_SYNC_EVENTS=` in a compose file) means unset: every type.
    events = listed.length > 0 ? checkEventPatterns(listed, "CLERK_SYNC_EVENTS") : undefined;
  }

  let migrate = options.migrate;
  if (migrate === undefined) {
    const text = env.CLERK_SYNC_MIGRATE ?? "true";
    if (text !== "true" && text !== "false") {
      throw new ClerkSyncError("invalid_config", `CLERK_SYNC_MIGRATE must be true or false, got "${text}"`);
    }
    migrate = text === "true";
  }

  let fetchMissingParents = options.fetchMissingParents;
  if (fetchMissingParents === undefined) {
    const text = env.CLERK_SYNC_FETCH_MISSING_PARENTS ?? "false";
    if (text !== "true" && text !== "false") {
      throw new ClerkSyncError(
        "invalid_config",
        `CLERK_SYNC_FETCH_MISSING_PARENTS must be true or false, got "${text}"`,
      );
    }
    fetchMissingParents = text === "true";
  } else if (typeof fetchMissingParents !== "boolean") {
    throw new ClerkSyncError("invalid_config", `${label("fetchMissingParents")} must be true or false`);
  }

  // Passed on as read; the Backend API client checks them (and never echoes the key) when first used.
  const clerkApiEnv = {
    ...(env.CLERK_SECRET_KEY !== undefined ? { CLERK_SECRET_KEY: env.CLERK_SECRET_KEY } : {}),
    ...(env.CLERK_API_URL !== undefined ? { CLERK_API_URL: env.CLERK_API_URL } : {}),
  };

  let logLevel: LogLevel | undefined;
  if (options.logLevel !== undefined) logLevel = logLevelOf(label("logLevel"), options.logLevel);
  else if (context.logging && env.LOG_LEVEL !== undefined) logLevel = logLevelOf("LOG_LEVEL", env.LOG_LEVEL);

  return {
    secrets,
    databaseUrl: options.databaseUrl ?? env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    maxBodyBytes:
      options.maxBodyBytes !== undefined
        ? positiveInt(label("maxBodyBytes"), options.maxBodyBytes)
        : positiveInt("CLERK_SYNC_MAX_BODY_BYTES", env.CLERK_SYNC_MAX_BODY_BYTES ?? String(DEFAULT_MAX_BODY_BYTES)),
    toleranceSeconds:
      options.toleranceSeconds !== undefined
        ? positiveInt(label("toleranceSeconds"), options.toleranceSeconds)
        : positiveInt(
            "CLERK_SYNC_TOLERANCE_SECONDS",
            env.CLERK_SYNC_TOLERANCE_SECONDS ?? String(DEFAULT_TOLERANCE_SECONDS),
          ),
    deleteMode,
    ...(events !== undefined ? { events } : {}),
    migrate,
    ...(logLevel !== undefined ? { logLevel } : {}),
    fetchMissingParents,
    retention: resolveRetention(options, env, label),
    ...(Object.keys(clerkApiEnv).length > 0 ? { clerkApi: { env: clerkApiEnv } } : {}),
  };
}
