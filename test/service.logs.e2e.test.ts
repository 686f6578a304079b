/**
 * The service's log lines as a user's log pipeline reads them (the real process, its stdout):
 * one JSON object per line with `level` by name, `time` in ISO 8601 and `msg`; and no secret in
 * any of them at the most verbose level, whatever the requests carry. (The database URL's
 * password at a failed start is test/service.startup.e2e.test.ts's.)
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateSecret } from "../src/server/env-files.js";
import { userEvent } from "./helpers/service-events.js";
import { type ServiceProcess, startServiceProcess } from "./helpers/service-process.js";

const BEARER = "eyJhbGciOiJSUzI1NiJ9.metrics-logs-test.c2lnbmF0dXJl";
const TOKENS = { CLERK_SYNC_DASHBOARD_TOKEN: "dash-token-logs-test-1", CLERK_SECRET_KEY: "sk_test_logsTest123456" };

describe("clerk-sync serve: its log lines", () => {
  let svc: ServiceProcess;
  beforeAll(async () => {
    svc = await startServiceProcess({ env: { LOG_LEVEL: "debug", CLERK_SYNC_METRICS: "true", ...TOKENS } });
    const auth = { authorization: `Bearer ${BEARER}`, cookie: `session=${BEARER}` };
    expect((await svc.post(userEvent("user.created"), { headers: auth })).status).toBe(200);
    expect((await svc.post(userEvent("user.created"), { headers: auth, secret: generateSecret() })).status).toBe(401);
    expect((await svc.post(userEvent("user.created"), { headers: { ...auth, "svix-id": null } })).status).toBe(400);
    expect((await svc.request("/metrics", { headers: auth })).status).toBe(200);
    expect((await svc.stop()).code).toBe(0);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  test("one JSON object per line: level by name, ISO time, msg", () => {
    const lines = svc.stdout.split("\n").filter((line) => line !== "");
    expect(lines.length).toBeGreaterThanOrEqual(5);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(["debug", "info", "warn", "error"]).toContain(entry.level);
      expect(new Date(String(entry.time)).toISOString()).toBe(entry.time);
      expect(typeof entry.msg).toBe("string");
      expect(entry).not.toHaveProperty("pid");
    }
    const messages = svc.logs().map((l) => `${l.level} ${l.msg}`);
    expect(messages).toEqual(
      expect.arrayContaining(["info listening", "debug delivery", "warn delivery rejected", "info stopped"]),
    );
  });

  test("no signing secret, secret key, dashboard token, Authorization header or cookie at debug", () => {
    const output = svc.allStdout + svc.stderr;
    expect(output).not.toContain(svc.secret);
    expect(output).not.toContain(svc.secret.replace(/^whsec_/, ""));
    for (const secret of [BEARER, ...Object.values(TOKENS)]) expect(output).not.toContain(secret);
  });
});
