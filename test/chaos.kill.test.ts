/**
 * Chaos: the service (`clerk-sync serve`, a real process) killed with SIGKILL several times under
 * load while the simulator delivers a history as Svix would, redelivering whatever was not
 * acknowledged. Nothing acknowledged may be lost, nothing applied twice, and the mirror must end
 * equal to the in-order result. On SQLite and on PostgreSQL.
 */
import { describe, expect, test } from "vitest";
import { compareMirror } from "../src/simulate/compare.js";
import { generateHistory } from "../src/simulate/history.js";
import { sendLikeSvix } from "../src/simulate/sender.js";
import { openStore } from "../src/store/open.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { auditDeliveries, freePort } from "./helpers/chaos.js";
import { describeTarget, postgresTarget } from "./helpers/databases.js";
import { ServiceProcess } from "./helpers/service-process.js";

const KILL_EVERY = 60;
const KILLS = 3;

/** Sends a history while killing the service every KILL_EVERY acknowledgements; returns the figures. */
async function underKills(svc: ServiceProcess, openMirror: () => Promise<ClerkSyncStore>, seed: number) {
  await svc.start();
  const history = generateHistory({ seed, users: 80 });
  let acks = 0;
  let kills = 0;
  let restarting: Promise<void> | undefined;
  const report = await sendLikeSvix(history, {
    url: svc.webhookUrl,
    secret: svc.secret,
    reorder: 0.2,
    duplicates: 0.1,
    timeScale: 3_000,
    concurrency: 16,
    seed,
    onAnswer: (answer) => {
      if (answer.status === null || answer.status >= 300) return;
      acks++;
      if (acks % KILL_EVERY === 0 && restarting === undefined && kills < KILLS) {
        restarting = (async () => {
          await svc.kill9();
          kills++;
          await svc.start();
          restarting = undefined;
        })();
      }
    },
  });
  await restarting;
  await svc.stop();
  const mirror = await openMirror();
  try {
    const audit = await auditDeliveries(mirror, history, report);
    const comparison = await compareMirror(mirror, history);
    const figures = {
      messages: report.messages,
      attempts: report.attempts,
      acknowledged: report.acknowledged,
      gaveUp: report.gaveUp,
      kills,
      lost: audit.lost.length,
      doubled: audit.doubled.length,
      answers: report.answers,
    };
    console.log(
      `chaos.kill ${svc.options.args?.includes("--database-url") ? "postgres" : "sqlite"}: ${JSON.stringify(figures)}`,
    );
    expect(kills).toBeGreaterThanOrEqual(3);
    // The kills happened with deliveries in flight: some attempts found no service.
    expect(report.answers.connection_failed ?? 0).toBeGreaterThan(0);
    expect(report.gaveUp).toBe(0);
    expect(report.acknowledged).toBe(history.length);
    expect(audit.lost).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(audit.recorded).toBe(history.length);
    expect(comparison.differences).toEqual([]);
  } finally {
    await mirror.close();
  }
}

describe("kill -9 under load", () => {
  test("SQLite: zero lost, zero doubled, the mirror equals the in-order result", async () => {
    const svc = new ServiceProcess({ port: await freePort() });
    await underKills(svc, () => openStore(`file:${svc.dbPath}`), 11);
  }, 120_000);
});

const postgres = await postgresTarget();
describeTarget(postgres, "kill -9 under load on PostgreSQL", () => {
  test("PostgreSQL: zero lost, zero doubled, the mirror equals the in-order result", async () => {
    const store = await postgres.fresh();
    await store.migrate();
    const url = postgres.url?.(store) as string;
    const svc = new ServiceProcess({ port: await freePort(), databaseFlag: false, args: ["--database-url", url] });
    try {
      await underKills(svc, async () => store, 12);
    } finally {
      await store.close().catch(() => undefined);
    }
  }, 120_000);
});
