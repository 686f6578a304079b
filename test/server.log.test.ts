/**
 * The service's JSON-lines logger (src/server/log.ts): redaction, and repeated warnings and
 * errors held back to one line and one summary per kind and window (a full disk fails every
 * delivery; the log must not grow by a line per request).
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { createJsonLogger } from "../src/server/log.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
}

const DISK_FULL = { code: "store_unavailable", cause: "SqliteError: database or disk is full" };

describe("createJsonLogger: repeated errors", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("the first of a kind is written, the rest within the window become one summary line at its end", () => {
    const { lines, write } = capture();
    const log = createJsonLogger("info", write, { windowMs: 60_000 });
    for (let i = 0; i < 500; i++) log.error("delivery failed", { svix_id: `msg_${i}`, ...DISK_FULL });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", msg: "delivery failed", svix_id: "msg_0", ...DISK_FULL });

    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      level: "error",
      msg: "delivery failed",
      ...DISK_FULL,
      more_like_this: 499,
      window_seconds: 60,
    });
    expect(lines[1]).not.toHaveProperty("svix_id");

    // A new window: the next one is written whole again.
    log.error("delivery failed", { svix_id: "msg_late", ...DISK_FULL });
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ svix_id: "msg_late" });
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(3); // nothing held back, no summary
  });

  test("different kinds (code, cause, message, level) are limited apart; info and debug never", () => {
    const { lines, write } = capture();
    const log = createJsonLogger("debug", write);
    for (let i = 0; i < 3; i++) {
      log.error("delivery failed", { svix_id: `a${i}`, ...DISK_FULL });
      log.error("delivery failed", { svix_id: `b${i}`, code: "store_unavailable", cause: "SQLITE_READONLY" });
      log.warn("delivery rejected", { svix_id: `c${i}`, code: "invalid_signature", status: 401 });
      log.info("listening", { port: 3000 });
      log.debug("delivery", { svix_id: `d${i}` });
    }
    expect(lines.filter((l) => l.level === "error")).toHaveLength(2);
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect(lines.filter((l) => l.level === "info")).toHaveLength(3);
    expect(lines.filter((l) => l.level === "debug")).toHaveLength(3);
  });

  test("flush() writes the summaries held back (at shutdown); secrets stay redacted in summaries", () => {
    const { lines, write } = capture();
    const log = createJsonLogger("info", write);
    for (let i = 0; i < 4; i++) log.warn("verify failed", { svix_id: `m${i}`, detail: "whsec_abc123=" });
    log.flush();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ msg: "verify failed", detail: "[redacted]", more_like_this: 3 });
    expect(JSON.stringify(lines)).not.toContain("whsec_abc123");
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
  });

  test("windowMs 0 turns the limit off", () => {
    const { lines, write } = capture();
    const log = createJsonLogger("info", write, { windowMs: 0 });
    for (let i = 0; i < 5; i++) log.error("delivery failed", { svix_id: `x${i}`, ...DISK_FULL });
    expect(lines).toHaveLength(5);
  });
});

describe("createJsonLogger: the line's shape and redaction", () => {
  const SIGNING = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const SECRET_KEY = "sk_live_abcDEF123456";

  test("one JSON object per line: level by name, time in ISO 8601, msg, the fields; no pid or hostname", () => {
    const { lines, write } = capture();
    createJsonLogger("info", write).info("listening", { url: "http://localhost:3000/api/webhooks", signing_keys: 1 });
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(Object.keys(line ?? {}).sort()).toEqual(["level", "msg", "signing_keys", "time", "url"]);
    expect(line).toMatchObject({ level: "info", msg: "listening", signing_keys: 1 });
    expect(new Date(String(line?.time)).toISOString()).toBe(line?.time);
  });

  test("signing secrets, secret keys, database passwords, tokens and Authorization headers never appear", () => {
    const raw: string[] = [];
    const log = createJsonLogger("debug", (line) => void raw.push(line), { windowMs: 0 });
    log.error("start failed", {
      code: "store_unavailable",
      error: "Cannot open postgres://app:hunter2-pw@db.internal:5432/app: connect ECONNREFUSED",
    });
    log.warn(`verify failed with ${SIGNING}`, { secrets: [SIGNING], detail: `key ${SECRET_KEY}` });
    log.info("request", {
      headers: { authorization: "Bearer eyJhbGciOi.payload.sig", cookie: "clerk_sync_dashboard=dash-cookie-1" },
      note: "sent Authorization: Bearer eyJhbGciOi.payload.sig and Basic dXNlcjpwYXNz",
    });
    log.debug("dashboard", { dashboard_token: "dash-token-123", CLERK_SYNC_METRICS_TOKEN: "m-tok", apiKey: "k-1" });
    const text = raw.join("");
    for (const secret of [
      "hunter2-pw",
      SIGNING,
      SIGNING.slice(6),
      SECRET_KEY,
      "eyJhbGciOi",
      "dXNlcjpwYXNz",
      "dash-cookie-1",
      "dash-token-123",
      "m-tok",
      "k-1",
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    // What is not secret stays readable: the user and host of the URL, the code.
    const [failed] = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(failed?.error).toBe("Cannot open postgres://app:***@db.internal:5432/app: connect ECONNREFUSED");
    expect(failed?.code).toBe("store_unavailable");
  });
});

describe("createJsonLogger: redaction", () => {
  test("secret-named fields and secret-looking values, nested or in the message, are written as [redacted]", () => {
    const { lines, write } = capture();
    const log = createJsonLogger("debug", write);
    const whsec = `whsec_${Buffer.alloc(24, 9).toString("base64")}`;
    log.info(`opening with ${whsec}`, {
      headers: { authorization: "Bearer abc.def", "svix-signature": "v1,c2lnbmF0dXJl" },
      database: { password: "hunter2", host: "db.internal" },
      CLERK_SECRET_KEY: "sk_live_abcdef123",
      notes: ["key sk_test_zyx987 in a list", "plain"],
      svix_id: "msg_1",
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      msg: "opening with [redacted]",
      headers: { authorization: "[redacted]", "svix-signature": "[redacted]" },
      database: { password: "[redacted]", host: "db.internal" },
      CLERK_SECRET_KEY: "[redacted]",
      notes: ["key [redacted] in a list", "plain"],
      svix_id: "msg_1",
    });
    const written = JSON.stringify(lines);
    for (const secret of [whsec, "abc.def", "c2lnbmF0dXJl", "hunter2", "sk_live_abcdef123", "sk_test_zyx987"]) {
      expect(written).not.toContain(secret);
    }
  });
});
