/**
 * What the chaos suite (test/chaos.*.test.ts) needs around the service: a fixed free port (so the
 * simulator's URL survives a restart), a PostgreSQL instance of the test's own (never the
 * machine's server), a small disk, and the checks for "nothing lost, nothing doubled".
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "kysely";
import { afterAll } from "vitest";
import type { SimulatedMessage } from "../../src/simulate/history.js";
import type { SendReport } from "../../src/simulate/sender.js";
import type { ClerkSyncStore } from "../../src/store/store.js";
import { makeTempDir } from "./service-process.js";

const IN_CI = process.env.CI === "true" || process.env.CI === "1";

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/** A PostgreSQL server of the test's own, in a temp dir, on a port of its own. */
export interface OwnPostgres {
  url: string;
  port: number;
  /** Stops the server at once (`pg_ctl stop -m immediate`: connections cut, as a crash would). */
  stop(): void;
  /** Starts it again and waits until it accepts connections. */
  start(): void;
}

/**
 * Starts a PostgreSQL 15 of its own (initdb + pg_ctl into a temp dir, as the `postgres` system
 * user when the test runs as root, since PostgreSQL refuses to run as root), or says why it cannot.
 * Removed after the test file.
 */
export async function startOwnPostgres(): Promise<OwnPostgres | { reason: string }> {
  const asRoot = process.getuid?.() === 0;
  const run = (bin: string, args: string[]) => {
    const command = asRoot ? "runuser" : join(PG_BIN, bin);
    const argv = asRoot ? ["-u", "postgres", "--", join(PG_BIN, bin), ...args] : args;
    const result = spawnSync(command, argv, { encoding: "utf8", timeout: 60_000 });
    if (result.status !== 0) throw new Error(`${bin} ${args.join(" ")}: ${result.stderr || result.error}`);
  };
  const dir = mkdtempSync(join(tmpdir(), "clerk-sync-own-pg-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const data = join(dir, "data");
  const log = join(dir, "server.log");
  try {
    if (asRoot) execFileSync("chown", ["postgres", dir]);
    chmodSync(dir, 0o755);
    run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  } catch (error) {
    return { reason: `initdb failed: ${String(error).split("\n")[0]}` };
  }
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const server: OwnPostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]),
    start: () => run("pg_ctl", ["-D", data, "-l", log, "-o", options, "-w", "-t", "30", "start"]),
  };
  try {
    server.start();
  } catch (error) {
    return { reason: `pg_ctl start failed: ${String(error).split("\n")[0]}` };
  }
  afterAll(() => {
    try {
      server.stop();
    } catch {
      // Already stopped.
    }
  });
  return server;
}

/** A 16 MiB tmpfs under a temp dir (root only), or why none could be mounted. Unmounted after the file. */
export function mountSmallDisk(): { dir: string } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: "needs root to mount a tmpfs" };
  const dir = join(makeTempDir("clerk-sync-disk-"), "disk");
  mkdirSync(dir);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", dir], { stdio: "pipe" });
  } catch (error) {
    return { reason: `mount -t tmpfs failed: ${String(error).split("\n")[0]}` };
  }
  afterAll(() => execFileSync("umount", ["-l", dir]));
  return { dir };
}

/** Fills the file system of `path` until it refuses another byte. */
export function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const block = Buffer.alloc(16 * 1024, 7);
  try {
    for (;;) writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    try {
      for (;;) writeSync(fd, block.subarray(0, 512));
    } catch {}
  } finally {
    closeSync(fd);
  }
}

/**
 * A precondition the chaos suite needs from the machine (root for a tmpfs, PostgreSQL's binaries):
 * without it the test is skipped with the reason, or, under CI=true, fails.
 */
export function requireOrSkip(reason: string | undefined): { skip: boolean; title: string } {
  if (reason === undefined) return { skip: false, title: "" };
  if (IN_CI) throw new Error(`${reason} (CI=true: the chaos suite must run)`);
  return { skip: true, title: ` [skipped: ${reason}]` };
}

/** What the database says about the deliveries of a run. */
export interface DeliveryAudit {
  /** Acknowledged (2xx) messages with no delivery row: their effect is lost. */
  lost: string[];
  /** Delivery ids recorded more than once, or not in the history. */
  doubled: string[];
  /** Rows in `clerk_webhook_events` for the history. */
  recorded: number;
}

/**
 * Every acknowledged message must have its delivery row (status applied or stale), each id
 * exactly once, and no row for an id the history does not hold.
 */
export async function auditDeliveries(
  store: ClerkSyncStore,
  history: readonly SimulatedMessage[],
  report: SendReport,
): Promise<DeliveryAudit> {
  const { rows } = await sql<{
    svix_id: string;
    status: string;
  }>`select svix_id, status from clerk_webhook_events`.execute(store.db);
  const known = new Set(history.map((m) => m.svixId));
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.svix_id, (counts.get(row.svix_id) ?? 0) + 1);
  const ok = new Set(rows.filter((r) => r.status === "applied" || r.status === "stale").map((r) => r.svix_id));
  const lost = report.results.filter((r) => r.acknowledged && !ok.has(r.svixId)).map((r) => r.svixId);
  const doubled = [...counts].filter(([id, n]) => n > 1 || !known.has(id)).map(([id]) => id);
  return { lost, doubled, recorded: rows.filter((r) => known.has(r.svix_id)).length };
}

/** Answers of a run as they arrived, stamped with a sequence number for "what came while down". */
export class AnswerLog {
  readonly entries: { at: number; answer: string }[] = [];
  #seq = 0;
  add(answer: string): void {
    this.entries.push({ at: this.#seq++, answer });
  }
  get mark(): number {
    return this.#seq;
  }
  between(from: number, to: number): string[] {
    return this.entries.filter((e) => e.at >= from && e.at < to).map((e) => e.answer);
  }
}
