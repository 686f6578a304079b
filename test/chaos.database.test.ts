/**
 * Chaos: the database stopped mid-load. A PostgreSQL server of the test's own (initdb + pg_ctl in
 * a temp dir, on a port of its own; never the machine's server) is stopped at once while the
 * simulator delivers; while it is down the service answers only 5xx and stays up, and once the
 * server is back the service recovers by itself, with no restart: every message acknowledged,
 * the mirror equal to the in-order result. The recovery time is printed, never asserted.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { expect, test } from "vitest";
import { compareMirror } from "../src/simulate/compare.js";
import { generateHistory } from "../src/simulate/history.js";
import { sendLikeSvix } from "../src/simulate/sender.js";
import { openStore } from "../src/store/open.js";
import { AnswerLog, auditDeliveries, freePort, requireOrSkip, startOwnPostgres } from "./helpers/chaos.js";
import { ServiceProcess } from "./helpers/service-process.js";

const own = await startOwnPostgres();
const gate = requireOrSkip("reason" in own ? own.reason : undefined);
const CONCURRENCY = 8;

test.skipIf(gate.skip)(
  `PostgreSQL stopped mid-load: only 5xx while down, no crash, recovery without a restart${gate.title}`,
  async () => {
    if ("reason" in own) return;
    const svc = new ServiceProcess({ port: await freePort(), databaseFlag: false, args: ["--database-url", own.url] });
    await svc.start();
    const pid = svc.pid;
    const history = generateHistory({ seed: 21, users: 60 });
    const log = new AnswerLog();
    let outage: Promise<{ window: string[]; recoveryMs: number; readyzWhileDown: number }> | undefined;
    let acks = 0;
    const sending = sendLikeSvix(history, {
      url: svc.webhookUrl,
      secret: svc.secret,
      // First attempts spread over 4 s, so that deliveries keep arriving while the database is down.
      delayMs: 4_000,
      timeScale: 3_000,
      concurrency: CONCURRENCY,
      seed: 21,
      onAnswer: (answer) => {
        log.add(answer.status === null ? (answer.failure as string) : String(answer.status));
        if (answer.status !== null && answer.status < 300 && ++acks === 40) {
          outage = (async () => {
            own.stop();
            const from = log.mark;
            await sleep(2_000);
            const readyzWhileDown = (await svc.request("/readyz")).status;
            const to = log.mark;
            own.start();
            const startedAt = performance.now();
            while ((await svc.request("/readyz")).status !== 200) await sleep(10);
            return { window: log.between(from, to), recoveryMs: performance.now() - startedAt, readyzWhileDown };
          })();
        }
      },
    });
    const report = await sending;
    const { window, recoveryMs, readyzWhileDown } = await (outage as NonNullable<typeof outage>);
    const alive = svc.running && svc.pid === pid;
    await svc.stop();

    const count = (pred: (a: string) => boolean) => window.filter(pred).length;
    const figures = {
      messages: report.messages,
      acknowledged: report.acknowledged,
      gaveUp: report.gaveUp,
      whileDown: Object.fromEntries([...new Set(window)].map((a) => [a, count((x) => x === a)])),
      recoveryMs: Math.round(recoveryMs),
    };
    console.log(`chaos.database: ${JSON.stringify(figures)}`);

    expect(alive).toBe(true);
    expect(readyzWhileDown).toBe(503);
    // While down: 503s, and at most the attempts already committed when the server stopped got a 2xx.
    expect(count((a) => a === "503")).toBeGreaterThan(0);
    expect(count((a) => a.startsWith("2"))).toBeLessThanOrEqual(CONCURRENCY);
    expect(window.filter((a) => !a.startsWith("2") && a !== "503")).toEqual([]);
    expect(report.gaveUp).toBe(0);
    expect(report.acknowledged).toBe(history.length);

    const mirror = await openStore(own.url);
    try {
      const audit = await auditDeliveries(mirror, history, report);
      expect(audit.lost).toEqual([]);
      expect(audit.doubled).toEqual([]);
      expect((await compareMirror(mirror, history)).differences).toEqual([]);
    } finally {
      await mirror.close();
    }
  },
  90_000,
);
