/**
 * `clerk-sync simulate` (the built CLI, `npm run -s build` first) and `sendLikeSvix` (the API in
 * `clerk-sync/testing`): against the real service with its SQLite file compared row by row, and
 * against a receiver of the test's own that fails on purpose (retries on the schedule, aborts,
 * timeouts, duplicates, reordering counted on the receiver's side).
 */

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, test } from "vitest";
import { createVerifier } from "../src/core/verify.js";
import { generateSecret } from "../src/server/env-files.js";
import { generateHistory, readHistoryFile, type SimulatedMessage } from "../src/simulate/history.js";
import { SVIX_RETRY_SCHEDULE_MS, sendLikeSvix } from "../src/simulate/sender.js";
import { type Served, serveNode } from "./helpers/http-servers.js";
import { makeTempDir, runCli, startServiceProcess } from "./helpers/service-process.js";

describe("clerk-sync simulate against the service", () => {
  test("delivers with reordering and duplicates, the mirror equals the in-order result (exit 0); a row changed behind its back is listed (exit 1)", async () => {
    const svc = await startServiceProcess();
    const args = ["simulate", "--url", svc.webhookUrl, "--secret", svc.secret, "--users", "40", "--seed", "5"];
    const db = ["--database-url", `file:${svc.dbPath}`];
    const first = await runCli(
      [...args, "--reorder", "0.3", "--duplicates", "0.3", "--concurrency", "6", ...db, "--json"],
      {
        cwd: svc.cwd,
        timeoutMs: 60_000,
      },
    );
    expect(first.code, first.stderr).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result.ok).toBe(true);
    expect(result.send.acknowledged).toBe(result.send.messages);
    expect(result.send.duplicatesSent).toBeGreaterThan(0);
    expect(result.comparison.differences).toEqual([]);
    expect(result.comparison.rows).toBeGreaterThan(40);
    const events = svc.counts().events;
    expect(events).toBe(result.send.messages);

    // Someone edits the mirror: the same history sent again (all duplicates) no longer matches.
    const userId = result.send.results.find((r: { type: string }) => r.type === "user.created").objectId;
    const writable = new Database(svc.dbPath);
    writable.prepare("update clerk_users set first_name = 'Tampered' where id = ?").run(userId);
    writable.close();
    const second = await runCli([...args, ...db], { cwd: svc.cwd, timeoutMs: 60_000 });
    expect(second.code).toBe(1);
    expect(second.stdout).toContain(`~ clerk_users ${userId}:`);
    expect(second.stdout).toContain('"Tampered"');
    expect(svc.counts().events).toBe(events);
  }, 90_000);

  test("bad input exits 3 with a coded error and sends nothing", async () => {
    let requests = 0;
    const receiver = await serveNode((_req, res) => {
      requests++;
      res.end();
    });
    try {
      const cwd = makeTempDir();
      const secret = generateSecret();
      writeFileSync(join(cwd, "bad.json"), JSON.stringify([{ type: "user.created" }]));
      const url = `${receiver.url}/api/webhooks`;
      for (const extra of [
        ["--reorder", "2"],
        ["--duplicates", "x"],
        ["--concurrency", "0"],
        ["--time-scale=-1"],
        ["--history", "bad.json"],
        ["--history", "missing.json"],
        ["--url", "not a url"],
        ["--users", "5", "--history", "bad.json"],
      ]) {
        const run = await runCli(["simulate", "--url", url, "--secret", secret, ...extra], { cwd });
        expect(run.code, extra.join(" ")).toBe(3);
        expect(run.stderr).toContain("[invalid_config]");
      }
      const noSecret = await runCli(["simulate", "--url", url], { cwd });
      expect(noSecret.code).toBe(3);
      const badSecret = await runCli(["simulate", "--url", url, "--secret", "whsec_!!"], { cwd });
      expect(badSecret.code).toBe(3);
      expect(requests).toBe(0);
    } finally {
      await receiver.close();
    }
  }, 60_000);
});

describe("sendLikeSvix", () => {
  const servers: Served[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });

  /** A receiver that verifies each attempt and answers what `answer(svixId, attemptNo)` says. */
  async function receiver(
    secret: string,
    answer: (id: string, n: number) => { status: number; abort?: boolean; hang?: boolean },
  ) {
    const arrivals: string[] = [];
    const attempts = new Map<string, number>();
    const verify = createVerifier({ secrets: [secret] });
    const served = await serveNode((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        verify(body, headers);
        const id = headers["svix-id"] as string;
        const n = (attempts.get(id) ?? 0) + 1;
        attempts.set(id, n);
        arrivals.push(id);
        const a = answer(id, n);
        if (a.hang) return;
        res.statusCode = a.status;
        if (a.abort) res.setHeader("webhook-delivery", "abort-message");
        res.end();
      });
    });
    servers.push(served);
    return { url: `${served.url}/api/webhooks`, arrivals, attempts };
  }

  test("retries non-2xx answers and timeouts on Svix's schedule, stops on abort-message, gives up after the last retry", async () => {
    const secret = generateSecret();
    const history: SimulatedMessage[] = generateHistory({ seed: 3, users: 8 });
    const [aborted, failing, slow] = history.map((m) => m.svixId);
    const r = await receiver(secret, (id, n) => {
      if (id === aborted) return { status: 410, abort: true };
      if (id === failing) return { status: 500 };
      if (id === slow) return n === 1 ? { status: 0, hang: true } : { status: 200 };
      return { status: n <= 2 ? 503 : 200 };
    });
    const report = await sendLikeSvix(history, {
      url: r.url,
      secret,
      timeScale: 100_000,
      timeoutMs: 300,
      concurrency: 4,
    });
    const byId = new Map(report.results.map((x) => [x.svixId, x]));
    expect(byId.get(aborted as string)).toMatchObject({
      attempts: 1,
      gaveUp: true,
      aborted: true,
      acknowledged: false,
    });
    expect(byId.get(failing as string)).toMatchObject({
      attempts: SVIX_RETRY_SCHEDULE_MS.length + 1,
      gaveUp: true,
      lastAnswer: "500",
    });
    expect(byId.get(slow as string)).toMatchObject({ attempts: 2, acknowledged: true });
    const others = report.results.filter((x) => x.svixId !== aborted && x.svixId !== failing && x.svixId !== slow);
    for (const x of others) expect(x).toMatchObject({ attempts: 3, acknowledged: true });
    expect(report.gaveUp).toBe(2);
    expect(report.acknowledged).toBe(history.length - 2);
    expect(report.answers.timeout).toBe(1);
    expect(report.answers["503"]).toBe(others.length * 2);
    expect(report.attempts).toBe(r.arrivals.length);
  });

  test("reordering and duplicates: every message arrives, some out of order, some twice, under its own id", async () => {
    const secret = generateSecret();
    const history = generateHistory({ seed: 4, users: 30 });
    const r = await receiver(secret, () => ({ status: 200 }));
    const report = await sendLikeSvix(history, {
      url: r.url,
      secret,
      reorder: 0.3,
      duplicates: 0.3,
      concurrency: 1,
      seed: 9,
    });
    expect(report.acknowledged).toBe(history.length);
    expect(new Set(r.arrivals)).toEqual(new Set(history.map((m) => m.svixId)));
    expect(report.duplicatesSent).toBeGreaterThan(0);
    expect(r.arrivals.length).toBe(history.length + report.duplicatesSent);
    const firstArrivals = [...new Set(r.arrivals)];
    expect(firstArrivals).not.toEqual(history.map((m) => m.svixId));
    // Without reordering, one at a time: Clerk's order exactly.
    const inOrder = await receiver(secret, () => ({ status: 200 }));
    await sendLikeSvix(history, { url: inOrder.url, secret, concurrency: 1 });
    expect(inOrder.arrivals).toEqual(history.map((m) => m.svixId));
  });

  test("a history file keeps its ids and order", () => {
    const dir = makeTempDir();
    const path = join(dir, "h.json");
    const created = { type: "user.created", object: "event", timestamp: 1, data: { id: "user_1", object: "user" } };
    writeFileSync(
      path,
      JSON.stringify([
        { svix_id: "msg_a", event: created },
        { ...created, type: "user.updated" },
      ]),
    );
    const history = readHistoryFile(path);
    expect(history.map((m) => [m.svixId.startsWith("msg_"), m.type, m.objectId])).toEqual([
      [true, "user.created", "user_1"],
      [true, "user.updated", "user_1"],
    ]);
    expect(history[0]?.svixId).toBe("msg_a");
    expect(JSON.parse(history[0]?.body as string)).toEqual(created);
  });
});
