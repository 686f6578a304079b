/**
 * `/metrics` of the real service process (the built CLI: `npm run -s build` first when running
 * this file alone): off by default (404), on with `CLERK_SYNC_METRICS=true` on the webhook port or
 * on a port of its own. A known mix of deliveries goes over real HTTP (applied, duplicate, stale,
 * ignored, failed in the store, rejected for several codes) and every counter read back through
 * a Prometheus text parser that is not ours must equal what was sent. The exposition must hold
 * nothing secret or identifying.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createWebhookHandler } from "../src/core/handler.js";
import type { DeliveryObservation } from "../src/core/observer.js";
import { createVerifier } from "../src/core/verify.js";
import { resolveConfig } from "../src/server/config.js";
import { generateSecret } from "../src/server/env-files.js";
import { createServiceMetrics } from "../src/server/metrics.js";
import { freshExample } from "../src/testing/fixtures.js";
import { signDelivery } from "../src/testing/sign.js";
import { nowSeconds, updateOf, userEvent } from "./helpers/service-events.js";
import { type PostResult, type ServiceProcess, startServiceProcess } from "./helpers/service-process.js";

/** The families of an exposition, by name. */
function parse(text: string): Map<string, ParsedFamily> {
  return new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
}

/** A counter's or gauge's samples as `label=value,… → number`, zeros left out. */
function samples(families: Map<string, ParsedFamily>, name: string, type: "COUNTER" | "GAUGE"): Record<string, number> {
  const family = families.get(name);
  expect(family, `${name} is exposed`).toBeDefined();
  expect(family?.type).toBe(type);
  const out: Record<string, number> = {};
  for (const sample of family?.metrics ?? []) {
    const value = Number(sample.value);
    if (value === 0) continue;
    const key = Object.entries(sample.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    out[key] = value;
  }
  return out;
}

/**
 * A histogram's `_count` and `_sum` per label set. The parser folds every label set of a
 * histogram into one (its `flattenMetrics` keeps the buckets of one and drops the labels), so
 * the family is read with its TYPE line left out: its `_bucket`, `_sum` and `_count` lines then
 * parse as untyped families, labels kept.
 */
function histogram(text: string, name: string): Record<string, { count: number; sum: number }> {
  expect(parse(text).get(name)?.type).toBe("HISTOGRAM");
  // Each label set's run of `_sum` (or `_count`) lines is a family of its own: take them all.
  const untyped = parsePrometheusTextFormat(text.replace(new RegExp(`^# TYPE ${name} histogram$`, "m"), ""));
  const out: Record<string, { count: number; sum: number }> = {};
  for (const part of ["count", "sum"] as const) {
    const families = untyped.filter((family) => family.name === `${name}_${part}`);
    for (const sample of families.flatMap((family) => family.metrics)) {
      const key = Object.entries(sample.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      out[key] ??= { count: 0, sum: 0 };
      out[key][part] = Number(sample.value);
    }
  }
  return out;
}

const SQLITE_FAILS_SESSIONS = `CREATE TRIGGER refuse_sessions BEFORE INSERT ON clerk_sessions
  BEGIN SELECT RAISE(ABORT, 'sessions refused by a test trigger'); END`;

describe("clerk-sync serve: /metrics", () => {
  describe("on, on the webhook port: a known mix of deliveries, each counter equal to it", () => {
    let svc: ServiceProcess;
    let text = "";
    const sentIds: string[] = [];
    const objectIds: string[] = [];
    const replies: PostResult[] = [];
    let started = 0;
    let ended = 0;

    beforeAll(async () => {
      svc = await startServiceProcess({ env: { CLERK_SYNC_METRICS: "true", CLERK_SYNC_MAX_BODY_BYTES: "65536" } });
      // A store failure that repeats on every attempt: inserts into clerk_sessions are refused.
      const db = new Database(svc.dbPath);
      db.pragma("busy_timeout = 5000");
      db.exec(SQLITE_FAILS_SESSIONS);
      db.close();

      started = nowSeconds();
      const post = async (payload: object | string, options: Parameters<ServiceProcess["post"]>[1] = {}) => {
        const reply = await svc.post(payload, options);
        replies.push(reply);
        sentIds.push(reply.id);
        return reply;
      };
      // 3 applied user.created, 1 applied organization.created.
      const users = [1, 2, 3].map(() => userEvent("user.created"));
      for (const user of users) {
        objectIds.push(String(user.data.id));
        await post(user);
      }
      const org = freshExample("organization.created");
      objectIds.push(String(org.data.id));
      await post(org);
      // 2 duplicates: the first user's delivery retried twice with its svix-id.
      const first = replies[0] as PostResult;
      await post(users[0] as object, { id: first.id });
      await post(users[0] as object, { id: first.id });
      // 1 stale: an update older than the stored row.
      const user1 = users[1] as ReturnType<typeof userEvent>;
      await post(updateOf(user1, Number(user1.data.updated_at) - 60_000));
      // 1 ignored: a type clerk-sync does not know (labelled "unknown").
      await post({ ...freshExample("user.updated"), type: "widget.polished" });
      // 2 failed in the store: a session's delivery and its retry.
      const session = freshExample("session.created");
      objectIds.push(String(session.data.id));
      const failed = await post(session);
      await post(session, { id: failed.id });
      // Rejected: 2 bad signatures, a missing header, an old timestamp, a body that is not JSON,
      // a body over the limit, a GET.
      await post(userEvent("user.created"), { secret: generateSecret() });
      await post(userEvent("user.created"), { secret: generateSecret() });
      await post(userEvent("user.created"), { headers: { "svix-signature": null } });
      await post(userEvent("user.created"), { timestamp: nowSeconds() - 3_600 });
      await post("this is not json");
      await post({ ...userEvent("user.created"), padding: "x".repeat(70_000) });
      await post(userEvent("user.created"), { method: "GET" });
      ended = nowSeconds();

      const reply = await svc.request("/metrics");
      expect(reply.status).toBe(200);
      expect(reply.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      text = reply.text;
    });
    afterAll(async () => {
      if (svc) expect((await svc.stop()).code).toBe(0);
    });

    test("the replies are the mix intended", () => {
      const outcomes = replies.map((r) => (r.status === 200 ? r.body.status : r.body.error.code));
      expect(outcomes).toEqual([
        ...["applied", "applied", "applied", "applied", "duplicate", "duplicate", "stale", "ignored"],
        ...[failedCode(replies[8]), failedCode(replies[8])],
        ...["invalid_signature", "invalid_signature", "missing_headers", "timestamp_too_old", "invalid_payload"],
        ...["payload_too_large", "method_not_allowed"],
      ]);
      // The store's failure is a coded one, recorded as failed.
      expect(["unstorable_payload", "store_unavailable"]).toContain(failedCode(replies[8]));
    });

    test("deliveries by type and outcome, rejections by code, store errors by code: exactly what was sent", () => {
      const families = parse(text);
      const code = failedCode(replies[8]);
      expect(samples(families, "clerk_sync_deliveries_total", "COUNTER")).toEqual({
        "type=user.created,outcome=applied": 3,
        "type=organization.created,outcome=applied": 1,
        "type=user.created,outcome=duplicate": 2,
        "type=user.updated,outcome=stale": 1,
        "type=unknown,outcome=ignored": 1,
        "type=session.created,outcome=failed": 2,
      });
      expect(samples(families, "clerk_sync_rejections_total", "COUNTER")).toEqual({
        "code=invalid_signature": 2,
        "code=missing_headers": 1,
        "code=timestamp_too_old": 1,
        "code=invalid_payload": 1,
        "code=payload_too_large": 1,
        "code=method_not_allowed": 1,
      });
      expect(samples(families, "clerk_sync_store_errors_total", "COUNTER")).toEqual({ [`code=${code}`]: 2 });
      // The series alerts take rates of exist from the start, at 0.
      const zeroes = families.get("clerk_sync_rejections_total")?.metrics.filter((m) => Number(m.value) === 0);
      expect(zeroes?.map((m) => m.labels?.code)).toContain("invalid_event");
    });

    test("apply latency: one observation per verified delivery, by outcome; batch sizes sum to them", () => {
      const latency = histogram(text, "clerk_sync_apply_duration_seconds");
      expect(Object.fromEntries(Object.entries(latency).map(([k, v]) => [k, v.count]))).toEqual({
        "outcome=applied": 4,
        "outcome=duplicate": 2,
        "outcome=stale": 1,
        "outcome=ignored": 1,
        "outcome=failed": 2,
      });
      const batches = histogram(text, "clerk_sync_batch_size");
      // Every verified delivery went through one batch of plans (the service has no hooks).
      expect(batches["kind=plans"]?.sum).toBe(10);
      expect(batches["kind=plans"]?.count).toBeGreaterThanOrEqual(1);
      expect(batches["kind=plans"]?.count).toBeLessThanOrEqual(10);
      expect(batches["kind=jobs"]).toEqual({ count: 0, sum: 0 });
    });

    test("the time of the last applied delivery, and the process metrics", () => {
      const families = parse(text);
      const last = Number(families.get("clerk_sync_last_applied_timestamp_seconds")?.metrics[0]?.value);
      expect(families.get("clerk_sync_last_applied_timestamp_seconds")?.type).toBe("GAUGE");
      expect(last).toBeGreaterThanOrEqual(started);
      expect(last).toBeLessThanOrEqual(ended + 1);
      for (const name of [
        "process_cpu_user_seconds_total",
        "process_start_time_seconds",
        "nodejs_heap_size_used_bytes",
      ]) {
        expect(families.has(name), name).toBe(true);
      }
    });

    test("nothing secret or identifying: no secret, delivery id, object id, address or database path", () => {
      expect(text).not.toContain(svc.secret);
      expect(text).not.toContain(svc.secret.replace(/^whsec_/, ""));
      expect(text).not.toContain("whsec_");
      expect(text).not.toContain(svc.dbPath);
      expect(text).not.toContain("@example.com");
      for (const id of [...sentIds, ...objectIds]) expect(text).not.toContain(id);
    });

    test("/metrics answers GET and HEAD only", async () => {
      const post = await svc.request("/metrics", { method: "POST", body: "x" });
      expect(post.status).toBe(405);
      expect(post.body.error.code).toBe("method_not_allowed");
      expect(post.headers.get("allow")).toBe("GET, HEAD");
      const head = await svc.request("/metrics", { method: "HEAD" });
      expect(head.status).toBe(200);
    });
  });

  test("off by default: 404 not_found, and deliveries are unaffected", async () => {
    const svc = await startServiceProcess();
    try {
      const reply = await svc.request("/metrics");
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe("not_found");
      expect((await svc.post(userEvent("user.created"))).status).toBe(200);
      expect(svc.logs().find((l) => l.msg === "listening")).not.toHaveProperty("metrics");
    } finally {
      expect((await svc.stop()).code).toBe(0);
    }
  });

  test("on a port of its own: served only there; the webhook port answers 404, the metrics port serves nothing else", async () => {
    const svc = await startServiceProcess({
      env: { CLERK_SYNC_METRICS: "true", CLERK_SYNC_METRICS_PORT: "0", CLERK_SYNC_METRICS_HOST: "127.0.0.1" },
    });
    try {
      const listening = svc.logs().find((l) => l.msg === "listening");
      const metricsUrl = new URL(String(listening?.metrics));
      expect(metricsUrl.pathname).toBe("/metrics");
      expect(metricsUrl.port).not.toBe(String(svc.port));
      expect((await svc.post(userEvent("user.created"))).status).toBe(200);

      const shared = await svc.request("/metrics");
      expect(shared.status).toBe(404);
      const own = await fetch(metricsUrl);
      expect(own.status).toBe(200);
      const families = parse(await own.text());
      expect(samples(families, "clerk_sync_deliveries_total", "COUNTER")).toEqual({
        "type=user.created,outcome=applied": 1,
      });
      // The webhook endpoint (and the health endpoints) are not on the metrics port.
      const webhook = await fetch(new URL("/api/webhooks", metricsUrl), { method: "POST", body: "{}" });
      expect(webhook.status).toBe(404);
      expect(((await webhook.json()) as { error: { code: string } }).error.code).toBe("not_found");
      expect((await fetch(new URL("/healthz", metricsUrl))).status).toBe(404);
    } finally {
      expect((await svc.stop()).code).toBe(0);
    }
  });
});

test("importing clerk-sync (dist/) loads neither prom-client nor pino: the service loads them when it needs them", () => {
  const entry = fileURLToPath(new URL("../dist/index.js", import.meta.url));
  const script = `
    import { createRequire } from "node:module";
    const require = createRequire(import.meta.url);
    const { createJsonLogger } = await import(${JSON.stringify(entry)});
    const loaded = () => Object.keys(require("node:module")._cache).filter((p) => /node_modules[\\\\/](pino|prom-client)[\\\\/]/.test(p));
    const before = loaded().length;
    createJsonLogger("info", () => {});
    console.log(JSON.stringify({ before, after: loaded().some((p) => /pino/.test(p)) }));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  expect(JSON.parse(out)).toEqual({ before: 0, after: true });
});

describe("metrics configuration", () => {
  const base = { CLERK_WEBHOOK_SIGNING_SECRET: generateSecret() };
  test("off unless CLERK_SYNC_METRICS=true or --metrics; a port of its own only when on", () => {
    expect(resolveConfig(base)).toMatchObject({ metrics: false });
    expect(resolveConfig(base)).not.toHaveProperty("metricsPort");
    expect(resolveConfig({ ...base, CLERK_SYNC_METRICS: "true" })).toMatchObject({ metrics: true });
    expect(resolveConfig(base, { metrics: true, metricsPort: "9464" })).toMatchObject({
      metrics: true,
      metricsPort: 9464,
      metricsHost: "0.0.0.0",
    });
    expect(
      resolveConfig({ ...base, HOST: "10.0.0.5", CLERK_SYNC_METRICS: "true", CLERK_SYNC_METRICS_PORT: "9464" }),
    ).toMatchObject({ metricsPort: 9464, metricsHost: "10.0.0.5" });
  });

  test("bad values are invalid_config", () => {
    const invalid = (env: Record<string, string>) => {
      try {
        resolveConfig({ ...base, ...env });
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return "accepted";
    };
    expect(invalid({ CLERK_SYNC_METRICS: "yes" })).toBe("invalid_config");
    expect(invalid({ CLERK_SYNC_METRICS_PORT: "9464" })).toBe("invalid_config"); // metrics off
    expect(invalid({ CLERK_SYNC_METRICS: "true", CLERK_SYNC_METRICS_PORT: "nine" })).toBe("invalid_config");
  });
});

describe("the core's observer", () => {
  const secret = generateSecret();
  const body = JSON.stringify(userEvent("user.created"));

  test("is told each outcome; one that throws changes no reply", async () => {
    const seen: DeliveryObservation[] = [];
    const handler = createWebhookHandler({
      verify: createVerifier({ secrets: secret }),
      engine: { process: async () => ({ outcome: "applied", type: "user.created", objectId: "user_1" }) },
      observer: {
        delivery(o) {
          seen.push(o);
          throw new Error("a faulty observer");
        },
      },
    });
    const signed = signDelivery({ secret, payload: body });
    const ok = await handler.fetch(new Request("http://x/", { method: "POST", headers: signed.headers, body }));
    expect(ok.status).toBe(200);
    const bad = await handler.fetch(new Request("http://x/", { method: "POST", headers: {}, body }));
    expect(bad.status).toBe(400);
    const get = await handler.fetch(new Request("http://x/", { method: "GET" }));
    expect(get.status).toBe(405);
    expect(seen.map((o) => [o.outcome, o.type, o.code, o.status])).toEqual([
      ["applied", "user.created", null, 200],
      ["rejected", null, "missing_headers", 400],
      ["rejected", null, "method_not_allowed", 405],
    ]);
    expect(seen[0]?.applySeconds).toBeGreaterThanOrEqual(0);
  });

  test("the service's metrics count what the observer is told, on their own registry", async () => {
    const metrics = createServiceMetrics({ processMetrics: false, now: () => 1_700_000_000_000 });
    metrics.observer.delivery?.({
      outcome: "applied",
      type: "user.created",
      code: null,
      status: 200,
      applySeconds: 0.01,
    });
    metrics.observer.delivery?.({ outcome: "rejected", type: null, code: "invalid_signature", status: 401 });
    metrics.observer.batch?.({ kind: "jobs", size: 3, failures: ["hook_failed"] });
    const families = parse(await metrics.text());
    expect(samples(families, "clerk_sync_deliveries_total", "COUNTER")).toEqual({
      "type=user.created,outcome=applied": 1,
    });
    expect(samples(families, "clerk_sync_rejections_total", "COUNTER")).toEqual({ "code=invalid_signature": 1 });
    expect(samples(families, "clerk_sync_store_errors_total", "COUNTER")).toEqual({ "code=hook_failed": 1 });
    expect(samples(families, "clerk_sync_last_applied_timestamp_seconds", "GAUGE")).toEqual({ "": 1_700_000_000 });
    expect(families.has("process_cpu_user_seconds_total")).toBe(false);
    // A second instance starts from zero: nothing is shared through prom-client's global registry.
    const other = parse(await createServiceMetrics({ processMetrics: false }).text());
    expect(samples(other, "clerk_sync_deliveries_total", "COUNTER")).toEqual({});
  });
});

function failedCode(reply: PostResult | undefined): string {
  return String(reply?.body?.error?.code);
}
