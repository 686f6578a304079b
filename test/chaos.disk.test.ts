/**
 * Chaos: the disk fills up under load. The service's SQLite file lives on a small tmpfs the test
 * mounts (root only; skipped with the reason elsewhere, failed under CI=true), which is filled while
 * the simulator delivers: only 5xx while it is full, `/readyz` says so, the service stays up, and
 * once space is freed every message is acknowledged with nothing lost and the mirror equal to the
 * in-order result.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, test } from "vitest";
import { compareMirror } from "../src/simulate/compare.js";
import { generateHistory } from "../src/simulate/history.js";
import { sendLikeSvix } from "../src/simulate/sender.js";
import { openStore } from "../src/store/open.js";
import { AnswerLog, auditDeliveries, fillDisk, mountSmallDisk, requireOrSkip } from "./helpers/chaos.js";
import { startServiceProcess } from "./helpers/service-process.js";

const disk = mountSmallDisk();
const gate = requireOrSkip("reason" in disk ? disk.reason : undefined);

test.skipIf(gate.skip)(
  `SQLite on a full disk under load: 5xx while full, recovery without a restart${gate.title}`,
  async () => {
    if (!("dir" in disk)) return;
    const svc = await startServiceProcess({ cwd: disk.dir });
    const pid = svc.pid;
    const history = generateHistory({ seed: 41, users: 60 });
    // Large metadata, so that commits need fresh pages while the disk is full.
    const heavy = history.map((m) =>
      m.type === "user.updated"
        ? { ...m, body: m.body.replace('"public_metadata":{', `"public_metadata":{"blob":"${"x".repeat(20_000)}",`) }
        : m,
    );
    const log = new AnswerLog();
    let acks = 0;
    let full: Promise<{ window: string[]; readyzWhileFull: number }> | undefined;
    const report = await sendLikeSvix(heavy, {
      url: svc.webhookUrl,
      secret: svc.secret,
      delayMs: 3_000,
      timeScale: 3_000,
      concurrency: 8,
      seed: 41,
      onAnswer: (answer) => {
        log.add(answer.status === null ? (answer.failure as string) : String(answer.status));
        if (answer.status !== null && answer.status < 300 && ++acks === 30) {
          full = (async () => {
            const filler = join(disk.dir, "filler");
            fillDisk(filler);
            const from = log.mark;
            await sleep(1_500);
            const readyzWhileFull = (await svc.request("/readyz")).status;
            const to = log.mark;
            rmSync(filler);
            return { window: log.between(from, to), readyzWhileFull };
          })();
        }
      },
    });
    const { window, readyzWhileFull } = await (full as NonNullable<typeof full>);
    const alive = svc.running && svc.pid === pid;
    const readyAfter = (await svc.request("/readyz")).status;
    await svc.stop();
    console.log(
      `chaos.disk: ${JSON.stringify({ messages: report.messages, acknowledged: report.acknowledged, answers: report.answers, whileFull: window.length })}`,
    );

    expect(alive).toBe(true);
    expect(readyzWhileFull).toBe(503);
    expect(readyAfter).toBe(200);
    // While full: no 4xx and no dropped connection; 2xx only for deliveries that needed no new page.
    expect(window.filter((a) => !a.startsWith("2") && a !== "503")).toEqual([]);
    expect(window).toContain("503");
    expect(report.gaveUp).toBe(0);
    expect(report.acknowledged).toBe(history.length);
    const store = await openStore(`file:${svc.dbPath}`);
    try {
      const audit = await auditDeliveries(store, heavy, report);
      expect(audit.lost).toEqual([]);
      expect(audit.doubled).toEqual([]);
      expect((await compareMirror(store, heavy)).differences).toEqual([]);
    } finally {
      await store.close();
    }
  },
  90_000,
);
