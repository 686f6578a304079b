/**
 * The one function that turns options and an environment into a receiver's settings, for
 * in-app receivers and the service's `resolveConfig` alike.
 */
import { describe, expect, it } from "vitest";
import { isClerkSyncError } from "../src/core/errors.js";
import {
  checkEventPatterns,
  parseEventList,
  resolveReceiverSettings,
  unknownEventPatterns,
} from "../src/receiver/receiver-settings.js";
import { HTTP_LIMIT_DEFAULTS, resolveConfig } from "../src/server/config.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** Every variable set to a non-default value. */
const ENV = {
  CLERK_WEBHOOK_SIGNING_SECRET: `${SECRET}, whsec_b2xkZXI=`,
  DATABASE_URL: "postgres://db/app",
  CLERK_SYNC_MAX_BODY_BYTES: "2048",
  CLERK_SYNC_TOLERANCE_SECONDS: "60",
  CLERK_SYNC_DELETE_MODE: "hard",
  CLERK_SYNC_EVENTS: "user.*, organization.created",
  CLERK_SYNC_MIGRATE: "false",
  CLERK_SYNC_FETCH_MISSING_PARENTS: "true",
  CLERK_SECRET_KEY: "sk_test_abc123",
  CLERK_API_URL: "http://127.0.0.1:3100",
  CLERK_SYNC_ATTEMPTS_PER_DELIVERY: "5",
  CLERK_SYNC_LOG_REJECTIONS: "false",
  CLERK_SYNC_REJECTIONS_MAX_ROWS: "100",
  CLERK_SYNC_REJECTIONS_MAX_AGE_DAYS: "2",
  CLERK_SYNC_PAYLOADS_MAX_ROWS: "1000",
  CLERK_SYNC_PAYLOADS_MAX_AGE_DAYS: "30",
  LOG_LEVEL: "warn",
};

const DEFAULT_RETENTION = {
  attemptsPerDelivery: 20,
  logRejections: true,
  rejectionsMaxRows: 10_000,
  rejectionsMaxAgeDays: 7,
};
const ENV_RETENTION = {
  attemptsPerDelivery: 5,
  logRejections: false,
  rejectionsMaxRows: 100,
  rejectionsMaxAgeDays: 2,
  payloadsMaxRows: 1000,
  payloadsMaxAgeDays: 30,
};

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isClerkSyncError(error) ? error.code : `not coded: ${String(error)}`;
  }
  return undefined;
}

describe("resolveReceiverSettings", () => {
  it("defaults with an empty environment", () => {
    expect(resolveReceiverSettings({}, {})).toEqual({
      secrets: [],
      databaseUrl: "file:./clerk-sync.db",
      maxBodyBytes: 1024 * 1024,
      toleranceSeconds: 300,
      deleteMode: "soft",
      migrate: true,
      fetchMissingParents: false,
      retention: DEFAULT_RETENTION,
    });
  });

  it("reads every variable; LOG_LEVEL only for a receiver that logs", () => {
    const expected = {
      secrets: [SECRET, "whsec_b2xkZXI="],
      databaseUrl: "postgres://db/app",
      maxBodyBytes: 2048,
      toleranceSeconds: 60,
      deleteMode: "hard",
      events: ["user.*", "organization.created"],
      migrate: false,
      fetchMissingParents: true,
      retention: ENV_RETENTION,
      clerkApi: { env: { CLERK_SECRET_KEY: "sk_test_abc123", CLERK_API_URL: "http://127.0.0.1:3100" } },
    };
    expect(resolveReceiverSettings({}, ENV)).toEqual(expected);
    expect(resolveReceiverSettings({}, ENV, { logging: true })).toEqual({ ...expected, logLevel: "warn" });
  });

  it("explicit options win over the environment", () => {
    const options = {
      secrets: [SECRET],
      databaseUrl: "file:./mine.db",
      maxBodyBytes: 10,
      toleranceSeconds: 5,
      deleteMode: "soft",
      events: ["*"],
      migrate: true,
      logLevel: "error",
      fetchMissingParents: false,
    } as const;
    // CLERK_SECRET_KEY / CLERK_API_URL have no option here: createClerkSync's clerkApi wins over them.
    const retention = {
      attemptsPerDelivery: 3,
      logRejections: true,
      rejectionsMaxRows: 7,
      rejectionsMaxAgeDays: 1,
      payloadsMaxRows: 9,
      payloadsMaxAgeDays: 4,
    };
    expect(resolveReceiverSettings({ ...options, ...retention }, ENV, { logging: true })).toEqual({
      ...options,
      retention,
      secrets: [SECRET],
      clerkApi: { env: { CLERK_SECRET_KEY: "sk_test_abc123", CLERK_API_URL: "http://127.0.0.1:3100" } },
    });
  });

  it("SIGNING_SECRET when CLERK_WEBHOOK_SIGNING_SECRET is unset; an empty CLERK_SYNC_EVENTS is unset", () => {
    const settings = resolveReceiverSettings({}, { SIGNING_SECRET: SECRET, CLERK_SYNC_EVENTS: " , " });
    expect(settings.secrets).toEqual([SECRET]);
    expect(settings.events).toBeUndefined();
  });

  it("LOG_LEVEL trace and fatal are read as debug and error", () => {
    expect(resolveReceiverSettings({}, { LOG_LEVEL: "trace" }, { logging: true }).logLevel).toBe("debug");
    expect(resolveReceiverSettings({}, { LOG_LEVEL: "fatal" }, { logging: true }).logLevel).toBe("error");
  });

  it("malformed variables and options are invalid_config", () => {
    for (const env of [
      { CLERK_SYNC_EVENTS: "user" },
      { CLERK_SYNC_EVENTS: "user*" },
      { CLERK_SYNC_EVENTS: "*.created" },
      { CLERK_SYNC_EVENTS: "user..created" },
      { CLERK_SYNC_EVENTS: "user.created;drop" },
      { CLERK_SYNC_DELETE_MODE: "" },
      { CLERK_SYNC_MAX_BODY_BYTES: "0" },
      { CLERK_SYNC_MAX_BODY_BYTES: "1e6" },
      { CLERK_SYNC_TOLERANCE_SECONDS: "abc" },
      { CLERK_SYNC_MIGRATE: "1" },
      { CLERK_SYNC_FETCH_MISSING_PARENTS: "yes" },
      { CLERK_SYNC_ATTEMPTS_PER_DELIVERY: "0" },
      { CLERK_SYNC_LOG_REJECTIONS: "no" },
      { CLERK_SYNC_REJECTIONS_MAX_ROWS: "-1" },
      { CLERK_SYNC_PAYLOADS_MAX_AGE_DAYS: "1.5" },
    ]) {
      expect([env, codeOf(() => resolveReceiverSettings({}, env))]).toEqual([env, "invalid_config"]);
    }
    expect(codeOf(() => resolveReceiverSettings({}, { LOG_LEVEL: "loud" }, { logging: true }))).toBe("invalid_config");
    for (const options of [
      { events: ["user.*", ""] },
      { maxBodyBytes: 1.5 },
      { toleranceSeconds: -1 },
      { deleteMode: "never" as "soft" },
      { logLevel: "loud" as "info" },
      { fetchMissingParents: "true" as unknown as boolean },
    ]) {
      expect([options, codeOf(() => resolveReceiverSettings(options, {}))]).toEqual([options, "invalid_config"]);
    }
  });
});

describe("event patterns", () => {
  it("are split on commas and spaces", () => {
    expect(parseEventList("user.*,organization.*  session.created,\n*")).toEqual([
      "user.*",
      "organization.*",
      "session.created",
      "*",
    ]);
  });

  it("accept a well-formed type clerk-sync does not know (Clerk adds types), reported as unknown", () => {
    const patterns = ["user.*", "organizationMembership.created", "user.create", "invoice.*", "*"];
    expect(checkEventPatterns(patterns, "test")).toEqual(patterns);
    expect(unknownEventPatterns(patterns)).toEqual(["user.create", "invoice.*"]);
  });
});

describe("resolveConfig: the service's settings are the receiver's", () => {
  it("equal resolveReceiverSettings on the same environment, plus where to listen", () => {
    const config = resolveConfig(ENV);
    const {
      host,
      port,
      path,
      logLevel,
      headersTimeoutMs,
      requestTimeoutMs,
      maxConnections,
      metrics,
      dashboard,
      ...receiver
    } = config;
    expect({
      host,
      port,
      path,
      logLevel,
      headersTimeoutMs,
      requestTimeoutMs,
      maxConnections,
      metrics,
      dashboard,
    }).toEqual({
      host: "0.0.0.0",
      port: 3000,
      path: "/api/webhooks",
      logLevel: "warn",
      ...HTTP_LIMIT_DEFAULTS,
      metrics: false,
      dashboard: false,
    });
    const { logLevel: _, ...settings } = resolveReceiverSettings({}, ENV, { logging: true });
    expect(receiver).toEqual(settings);
    expect(resolveConfig({}).logLevel).toBe("info");
  });

  it("the dashboard: CLERK_SYNC_DASHBOARD true/false (else invalid_config), --dashboard, the token read as it is", () => {
    expect(
      resolveConfig({ CLERK_SYNC_DASHBOARD: "true", CLERK_SYNC_DASHBOARD_TOKEN: " t0123456789abcdef " }),
    ).toMatchObject({ dashboard: true, dashboardToken: "t0123456789abcdef" });
    expect(resolveConfig({}, { dashboard: true }).dashboard).toBe(true);
    expect(resolveConfig({}).dashboardToken).toBeUndefined();
    expect(() => resolveConfig({ CLERK_SYNC_DASHBOARD: "yes" })).toThrow(
      expect.objectContaining({ code: "invalid_config" }),
    );
  });

  it("flags win: --events (repeatable, comma separated), --secret, --database-url, --log-level, --no-migrate", () => {
    const config = resolveConfig(ENV, {
      events: ["organization.*,session.*", "role.created"],
      secret: [SECRET],
      databaseUrl: "file:./flag.db",
      logLevel: "debug",
      migrate: true,
    });
    expect(config).toMatchObject({
      events: ["organization.*", "session.*", "role.created"],
      secrets: [SECRET],
      databaseUrl: "file:./flag.db",
      logLevel: "debug",
      migrate: true,
    });
    expect(codeOf(() => resolveConfig({}, { events: ["user*"] }))).toBe("invalid_config");
    expect(codeOf(() => resolveConfig({}, { logLevel: "loud" }))).toBe("invalid_config");
  });

  it("HTTP limits: variables, flags winning, malformed or inverted values refused", () => {
    const env = {
      CLERK_SYNC_HEADERS_TIMEOUT_MS: "1000",
      CLERK_SYNC_REQUEST_TIMEOUT_MS: "2000",
      CLERK_SYNC_MAX_CONNECTIONS: "50",
    };
    expect(resolveConfig(env)).toMatchObject({ headersTimeoutMs: 1000, requestTimeoutMs: 2000, maxConnections: 50 });
    expect(resolveConfig(env, { requestTimeoutMs: "3000", maxConnections: "7" })).toMatchObject({
      requestTimeoutMs: 3000,
      maxConnections: 7,
    });
    expect(codeOf(() => resolveConfig({ CLERK_SYNC_MAX_CONNECTIONS: "0" }))).toBe("invalid_config");
    expect(codeOf(() => resolveConfig({}, { headersTimeoutMs: "1.5" }))).toBe("invalid_config");
    expect(codeOf(() => resolveConfig({}, { headersTimeoutMs: "20000" }))).toBe("invalid_config");
  });
});
