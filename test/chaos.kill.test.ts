/**
 * Chaos: the service (`clerk-sync serve`, a real process) killed with SIGKILL several times under
 * load while the simulator delivers a history as Svix would, redelivering whatever was not
 * acknowledged. Nothing acknowledged may be lost, nothing applied twice, and the mirror must end
 * equal to the in-order result. On SQLite and on PostgreSQL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { describe, expect, test } from "vitest";
import { generateSecret } from "../src/server/env-files.js";
import { compareMirror } from "../src/simulate/compare.js";
import { generateHistory } from "../src/simulate/history.js";
import { sendLikeSvix } from "../src/simulate/sender.js";
import { openStore } from "../src/store/open.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { auditDeliveries, freePort } from "./helpers/chaos.js";
import { describeTarget, postgresTarget } from "./helpers/databases.js";
import { cleanEnv, makeTempDir, ServiceProcess } from "./helpers/service-process.js";

/** What the kill loop needs of a receiver process. */
interface Killable {
  readonly webhookUrl: string;
  readonly secret: string;
  start(): Promise<unknown>;
  kill9(): Promise<unknown>;
  stop(): Promise<unknown>;
}

/** The in-app receiver of helpers/hook-receiver.mjs (the built package, a hook on every delivery) as a process. */
class HookReceiver implements Killable {
  readonly secret = generateSecret();
  #child: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly databaseUrl: string,
  ) {}
  get webhookUrl() {
    return `http://127.0.0.1:${this.port}/api/webhooks`;
  }
  async start() {
    const script = fileURLToPath(new URL("./helpers/hook-receiver.mjs", import.meta.url));
    const dist = fileURLToPath(new URL("../dist/", import.meta.url));
    const child = spawn(process.execPath, [script, dist, String(this.port), this.databaseUrl, this.secret], {
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`hook receiver exited (${code})`)));
      child.stdout?.setEncoding("utf8").on("data", (text: string) => {
        if (text.includes("listening")) resolve();
      });
    });
  }
  async kill9() {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "close");
    child.removeAllListeners("exit");
    child.kill("SIGKILL");
    await exited;
  }
  stop() {
    return this.kill9();
  }
}

const KILL_EVERY = 60;
const KILLS = 3;

/** Sends a history while killing the service every KILL_EVERY acknowledgements; returns the figures. */
async function underKills(svc: Killable, openMirror: () => Promise<ClerkSyncStore>, seed: number, label: string) {
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
    console.log(`chaos.kill ${label}: ${JSON.stringify(figures)}`);
    expect(kills).toBeGreaterThanOrEqual(3);
    // The kills happened with deliveries in flight: some attempts found no service.
    expect(report.answers.connection_failed ?? 0).toBeGreaterThan(0);
    expect(report.gaveUp).toBe(0);
    expect(report.acknowledged).toBe(history.length);
    expect(audit.lost).toEqual([]);
    expect(audit.doubled).toEqual([]);
    expect(audit.recorded).toBe(history.length);
    expect(comparison.differences).toEqual([]);
    return { mirror, report };
  } catch (error) {
    await mirror.close();
    throw error;
  }
}

describe("kill -9 under load", () => {
  test("SQLite: zero lost, zero doubled, the mirror equals the in-order result", async () => {
    const svc = new ServiceProcess({ port: await freePort() });
    const { mirror } = await underKills(svc, () => openStore(`file:${svc.dbPath}`), 11, "sqlite");
    await mirror.close();
  }, 120_000);
});

describe("kill -9 of an in-app receiver with a hook", () => {
  test("SQLite: every delivery's hook ran exactly once, none for a duplicate", async () => {
    const file = join(makeTempDir(), "app.db");
    const db = new Database(file);
    db.exec("create table chaos_hook_runs (svix_id text not null)");
    db.close();
    const receiver = new HookReceiver(await freePort(), `file:${file}`);
    const { mirror, report } = await underKills(
      receiver,
      () => openStore(`file:${file}`),
      13,
      "in-app sqlite with a hook",
    );
    try {
      const { rows } = await sql<{
        svix_id: string;
        n: number;
      }>`select svix_id, count(*) as n from chaos_hook_runs group by svix_id`.execute(mirror.db);
      const runs = new Map(rows.map((r) => [r.svix_id, Number(r.n)]));
      expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
      expect(runs.size).toBe(report.messages);
    } finally {
      await mirror.close();
    }
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
      await underKills(svc, async () => store, 12, "postgres");
    } finally {
      await store.close().catch(() => undefined);
    }
  }, 120_000);
});
