/**
 * How long a commit waits to be durable, with the WAL's syncs one at a time (the baseline) or
 * several at once (`WalFlusher`'s default), on this machine's disk. A writer appends 44 KiB (what
 * one `user.created` commits at low load, docs/performance.md) to a WAL-like file every
 * millisecond and awaits `WalFlusher.flush()`; a second thread writes 2 MiB to another file and
 * fsyncs it every 200 ms, as the checkpointer does to the database file. The two runs alternate;
 * ratios are baseline / clerk-sync's default, from the same run (above 1.0: shorter waits).
 *
 * Usage: node --import tsx bench/wal-sync.ts [--seconds 6] [--reps 2]
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { WalFlusher } from "../src/store/sqlite/sqlite-durability.js";
import { percentile } from "./load.js";

const { values: args } = parseArgs({
  options: { seconds: { type: "string", default: "6" }, reps: { type: "string", default: "2" } },
});
const SECONDS = Number(args.seconds);
const REPS = Number(args.reps);
const COMMIT_BYTES = 44 * 1024;
const WAL_BYTES = 64 << 20;

const CHECKPOINTER = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const fd = fs.openSync(workerData.path, "w");
const chunk = Buffer.alloc(2 << 20, 1);
setInterval(() => { fs.writeSync(fd, chunk); fs.fsyncSync(fd); }, 200);
`;

/** Commit waits (ms) over `SECONDS`, with at most `maxInFlight` syncs at once. */
async function run(dir: string, maxInFlight: number): Promise<number[]> {
  const database = join(dir, `db-${maxInFlight}`);
  const checkpointer = new Worker(CHECKPOINTER, { eval: true, workerData: { path: join(dir, "checkpointed") } });
  const fd = openSync(`${database}-wal`, "w");
  const frames = Buffer.alloc(COMMIT_BYTES, 7);
  const flusher = new WalFlusher(database, { maxInFlight });
  const waits: number[] = [];
  const pending: Promise<void>[] = [];
  let offset = 0;
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    writeSync(fd, frames, 0, frames.length, offset);
    offset = (offset + frames.length) % (WAL_BYTES - frames.length);
    const committed = performance.now();
    pending.push(flusher.flush().then(() => void waits.push(performance.now() - committed)));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  await checkpointer.terminate();
  closeSync(fd);
  return waits.sort((a, b) => a - b);
}

function line(label: string, waits: number[]): string {
  const all = Float64Array.from(waits);
  const q = (p: number) => percentile(all, p).toFixed(2).padStart(6);
  return `  ${label.padEnd(28)} n=${waits.length}  p50 ${q(50)} ms  p90 ${q(90)} ms  p99 ${q(99)} ms  max ${q(100)} ms`;
}

const dir = mkdtempSync(join(tmpdir(), "clerk-sync-wal-sync-"));
try {
  console.log(
    `WAL sync bench: a ${COMMIT_BYTES / 1024} KiB commit per ms for ${SECONDS} s, a 2 MiB write + fsync to another file every 200 ms`,
  );
  const serial: number[] = [];
  const parallel: number[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    const one = await run(dir, 1);
    console.log(line(`rep ${rep}: one sync at a time`, one));
    const three = await run(dir, 3);
    console.log(line(`rep ${rep}: up to 3 at once`, three));
    serial.push(...one);
    parallel.push(...three);
  }
  serial.sort((a, b) => a - b);
  parallel.sort((a, b) => a - b);
  console.log(`\n${"=".repeat(100)}`);
  console.log(line("all reps: one sync at a time", serial));
  console.log(line("all reps: up to 3 at once", parallel));
  for (const p of [50, 99]) {
    const ratio = percentile(Float64Array.from(serial), p) / percentile(Float64Array.from(parallel), p);
    console.log(`commit wait p${p}: one-at-a-time / up-to-3 = ${ratio.toFixed(2)}×`);
  }
  console.log("=".repeat(100));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
