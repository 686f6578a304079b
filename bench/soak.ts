/**
 * Soak benchmark: memory and throughput of a server over a long run of deliveries, then idle.
 *
 *   bare        the node:http floor of bench/bare-server.ts (read the body, 200), run as plain
 *               JavaScript (transpiled here) so that no TypeScript loader weighs on its memory,
 *   clerk-sync  `clerk-sync serve` (bin/clerk-sync.js, built dist/), SQLite by default,
 *
 * each a separate process on 127.0.0.1, sent the same number of unique, signed `user.created`
 * deliveries over keep-alive connections (closed loop), then left idle. Every `--interval`
 * seconds a sample is printed: deliveries answered, deliveries/s over the interval, the
 * process's RSS from /proc/<pid>/status (VmRSS, and its anonymous and file-backed parts:
 * mmap'd database pages are file-backed), and the main thread's V8 heap, external and
 * ArrayBuffer bytes (written by bench/soak-probe.mjs, preloaded with `node --import`).
 * The summary gives RSS at start, at half the deliveries, peak, at the last delivery and after
 * the idle wait, for both servers, and clerk-sync's figures as ratios of the bare server's.
 *
 * Deliveries are made and signed in chunks (`--chunk`) just before they are sent, so the client
 * holds few of them and every signature is fresh.
 *
 * Usage: npm run build && npm run bench:soak -- [--deliveries 200000] [--connections 32]
 *          [--database-url file:/tmp/x.db | postgres://…] [--idle 30] [--interval 5]
 *          [--chunk 2000] [--no-baseline] [--clerk-sync-bin <path>] [--node-option <flag>]…
 *
 * --database-url  the database clerk-sync serves (default: a fresh SQLite file in a temp folder;
 *                 a network database should be an empty one: the tables are migrated at start).
 * --node-option   extra Node flags for the clerk-sync process (e.g. --max-semi-space-size=4), to
 *                 try a setting; repeatable.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import ts from "typescript";
import { checkAnswers, makeEvents, signAll } from "./events.js";
import { run } from "./load.js";
import {
  assertBuilt,
  BENCH_DIR,
  cleanUpOnExit,
  clerkSyncServeArgv,
  HOST,
  killAll,
  type ListeningChild,
  ROOT,
  runMain,
  startListening,
  stopChild,
  withStderr,
} from "./processes.js";
import { fmt, printSummary } from "./report.js";

const { values: args } = parseArgs({
  options: {
    deliveries: { type: "string", default: "200000" },
    connections: { type: "string", default: "32" },
    "database-url": { type: "string" },
    idle: { type: "string", default: "30" },
    interval: { type: "string", default: "5" },
    chunk: { type: "string", default: "2000" },
    "no-baseline": { type: "boolean", default: false },
    "clerk-sync-bin": { type: "string", default: join(ROOT, "bin", "clerk-sync.js") },
    "node-option": { type: "string", multiple: true, default: [] },
  },
});
const DELIVERIES = Number(args.deliveries);
const CONNECTIONS = Number(args.connections);
const IDLE_SECONDS = Number(args.idle);
const INTERVAL_MS = Number(args.interval) * 1000;
const CHUNK = Number(args.chunk);
for (const [name, value] of Object.entries({ DELIVERIES, CONNECTIONS, IDLE_SECONDS, INTERVAL_MS, CHUNK })) {
  if (!Number.isFinite(value) || value < 0 || (name !== "IDLE_SECONDS" && value === 0)) {
    throw new Error(`bad value for ${name.toLowerCase()}: ${value}`);
  }
}

type Target = "bare" | "clerk-sync";
const PROBE = pathToFileURL(join(BENCH_DIR, "soak-probe.mjs")).href;
const MB = 1024 * 1024;

let tempRoot: string | undefined;
cleanUpOnExit({ folder: () => tempRoot });

// ---------------------------------------------------------------- measuring

/** The memory lines of /proc/<pid>/status, in bytes (NaN once the process is gone). */
function procMemory(pid: number | undefined): { rss: number; anon: number; file: number; hwm: number } {
  let text = "";
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    // gone
  }
  const kib = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text)?.[1] ?? Number.NaN) * 1024;
  return { rss: kib("VmRSS"), anon: kib("RssAnon"), file: kib("RssFile") + kib("RssShmem"), hwm: kib("VmHWM") };
}

interface ProbeFigures {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

function readProbe(file: string): ProbeFigures | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as ProbeFigures;
  } catch {
    return undefined;
  }
}

interface Sample {
  readonly seconds: number;
  readonly phase: "load" | "idle";
  readonly delivered: number;
  readonly perSecond: number;
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
  readonly heap: ProbeFigures | undefined;
}

const mb = (bytes: number | undefined) => (bytes === undefined || Number.isNaN(bytes) ? "-" : (bytes / MB).toFixed(1));

function printHeader(): void {
  console.log(
    `  ${"t s".padStart(6)} ${"phase".padEnd(5)} ${"delivered".padStart(9)} ${"ev/s".padStart(7)}` +
      ` ${"RSS MB".padStart(7)} ${"anon".padStart(6)} ${"file".padStart(6)}` +
      ` ${"heapUsed".padStart(8)} ${"heapTot".padStart(7)} ${"external".padStart(8)} ${"arrayBuf".padStart(8)}`,
  );
}

function printSample(s: Sample): void {
  console.log(
    `  ${s.seconds.toFixed(0).padStart(6)} ${s.phase.padEnd(5)} ${fmt(s.delivered).padStart(9)} ${fmt(s.perSecond).padStart(7)}` +
      ` ${mb(s.rss).padStart(7)} ${mb(s.anon).padStart(6)} ${mb(s.file).padStart(6)}` +
      ` ${mb(s.heap?.heapUsed).padStart(8)} ${mb(s.heap?.heapTotal).padStart(7)} ${mb(s.heap?.external).padStart(8)} ${mb(s.heap?.arrayBuffers).padStart(8)}`,
  );
}

// ---------------------------------------------------------------- servers

/** bench/bare-server.ts as plain JavaScript, so that the floor runs without tsx (as clerk-sync does). */
function bareServerScript(dir: string): string {
  const source = readFileSync(join(BENCH_DIR, "bare-server.ts"), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const file = join(dir, "bare-server.mjs");
  writeFileSync(file, outputText);
  return file;
}

interface Server extends ListeningChild {
  readonly probeFile: string;
  readonly dbFile: string | undefined;
}

async function startServer(target: Target, dir: string, secret: string): Promise<Server> {
  const probeFile = join(dir, `${target}-probe.json`);
  const env = { ...process.env, CLERK_WEBHOOK_SIGNING_SECRET: secret, CLERK_SYNC_SOAK_PROBE: probeFile };
  let argv: string[];
  let dbFile: string | undefined;
  if (target === "bare") {
    argv = ["--import", PROBE, bareServerScript(dir)];
  } else {
    let url = args["database-url"];
    if (url === undefined) {
      dbFile = join(dir, "clerk-sync.db");
      url = `file:${dbFile}`;
    } else if (url.startsWith("file:")) {
      dbFile = url.slice("file:".length);
    }
    argv = ["--import", PROBE, ...args["node-option"], ...clerkSyncServeArgv(args["clerk-sync-bin"])];
    argv.push("--database-url", url);
  }
  // cwd = the temp folder, so that clerk-sync reads no .env file of the project.
  const server = await startListening(target, argv, { cwd: dir, env }, 30_000);
  return { ...server, probeFile, dbFile };
}

// ---------------------------------------------------------------- one soak

interface Soak {
  readonly target: Target;
  readonly samples: readonly Sample[];
  readonly start: number;
  readonly half: number;
  readonly peak: number;
  readonly end: number;
  readonly afterIdle: number;
  readonly perSecond: number;
  readonly databaseBytes: number | undefined;
}

async function soak(target: Target, dir: string, secret: string): Promise<Soak> {
  const server = await startServer(target, dir, secret);
  const pid = server.child.pid;
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let start-up settle
    const samples: Sample[] = [];
    const t0 = performance.now();
    let delivered = 0;
    let lastDelivered = 0;
    let lastAt = t0;
    let peak = 0;
    let half = Number.NaN;
    const sample = (phase: Sample["phase"]): Sample => {
      const now = performance.now();
      const m = procMemory(pid);
      const s: Sample = {
        seconds: (now - t0) / 1000,
        phase,
        delivered,
        perSecond: ((delivered - lastDelivered) * 1000) / Math.max(1, now - lastAt),
        rss: m.rss,
        anon: m.anon,
        file: m.file,
        heap: readProbe(server.probeFile),
      };
      lastDelivered = delivered;
      lastAt = now;
      if (m.rss > peak) peak = m.rss;
      samples.push(s);
      printSample(s);
      return s;
    };

    console.log(`\n${target}: ${fmt(DELIVERIES)} deliveries, ${CONNECTIONS} connections, then ${IDLE_SECONDS} s idle`);
    printHeader();
    const start = sample("load").rss;
    // Peaks between samples: VmHWM is the process's high-water mark since it started.
    let phase: Sample["phase"] = "load";
    const timer = setInterval(() => sample(phase), INTERVAL_MS);
    const loadStarted = performance.now();
    try {
      while (delivered < DELIVERIES) {
        const count = Math.min(CHUNK, DELIVERIES - delivered);
        const requests = signAll(makeEvents(count), secret);
        const result = await run({ host: HOST, port: server.port, requests, connections: CONNECTIONS });
        checkAnswers(`${target} deliveries ${delivered + 1}–${delivered + count}`, result, count);
        const before = delivered;
        delivered += count;
        if (before < DELIVERIES / 2 && delivered >= DELIVERIES / 2) half = procMemory(pid).rss;
      }
    } finally {
      clearInterval(timer);
    }
    const loadMs = performance.now() - loadStarted;
    const end = sample("load").rss;
    phase = "idle";
    const idleTimer = setInterval(() => sample(phase), INTERVAL_MS);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SECONDS * 1000));
    clearInterval(idleTimer);
    const afterIdle = sample("idle").rss;
    peak = Math.max(peak, procMemory(pid).hwm);
    await stopChild(server.child);
    let databaseBytes: number | undefined;
    if (target === "clerk-sync" && server.dbFile) {
      checkRows(server.dbFile);
      databaseBytes = statSync(server.dbFile).size;
    }
    return {
      target,
      samples,
      start,
      half,
      peak,
      end,
      afterIdle,
      perSecond: (DELIVERIES * 1000) / loadMs,
      databaseBytes,
    };
  } catch (error) {
    throw withStderr(error, target, server.stderr());
  } finally {
    await stopChild(server.child);
  }
}

/** Throws unless every delivery was recorded as applied (a fresh SQLite file holds only ours). */
function checkRows(file: string): void {
  if (args["database-url"] !== undefined) return; // a database of the user's: it may hold others
  const db = new Database(file, { readonly: true });
  try {
    const applied = db.prepare("SELECT count(*) FROM clerk_webhook_events WHERE status = 'applied'").pluck().get();
    if (applied !== DELIVERIES) throw new Error(`clerk-sync recorded ${applied} applied deliveries, not ${DELIVERIES}`);
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  assertBuilt();
  const started = performance.now();
  const root = mkdtempSync(join(tmpdir(), "clerk-sync-soak-"));
  tempRoot = root;
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const database = args["database-url"] ?? "a fresh SQLite file";
  console.log(
    `soak bench: ${fmt(DELIVERIES)} unique user.created deliveries per server, ${CONNECTIONS} keep-alive connections, ` +
      `closed loop, chunks of ${fmt(CHUNK)}; ${IDLE_SECONDS} s idle after; a sample every ${INTERVAL_MS / 1000} s`,
  );
  console.log(`clerk-sync database: ${database}; node options: ${args["node-option"].join(" ") || "none"}`);
  console.log("RSS = VmRSS of /proc/<pid>/status (anon + file-backed); heap figures: the main thread's only");
  try {
    const runs: Soak[] = [];
    if (!args["no-baseline"]) runs.push(await soak("bare", root, secret));
    runs.push(await soak("clerk-sync", root, secret));

    const clerk = runs.find((r) => r.target === "clerk-sync") as Soak;
    const bare = runs.find((r) => r.target === "bare");
    const row = (r: Soak) =>
      `  ${r.target.padEnd(10)} RSS start ${mb(r.start)} MB, at half ${mb(r.half)}, peak ${mb(r.peak)}, end ${mb(r.end)}, ` +
      `after ${IDLE_SECONDS} s idle ${mb(r.afterIdle)} MB; ${fmt(r.perSecond)} deliveries/s`;
    const ratio = (a: number, b: number | undefined) => (b ? `${(a / b).toFixed(2)}×` : "-");
    const lines = [
      `summary: ${fmt(DELIVERIES)} deliveries per server, ${CONNECTIONS} connections, all answered 2xx` +
        (clerk.databaseBytes === undefined
          ? ""
          : `, all recorded applied (database file ${mb(clerk.databaseBytes)} MB)`),
      ...runs.map(row),
      `  clerk-sync growth over the second half of the deliveries: ${mb(clerk.end - clerk.half)} MB; ` +
        `returned when idle: ${mb(clerk.end - clerk.afterIdle)} MB`,
    ];
    if (bare) {
      lines.push(
        `  clerk-sync/bare: RSS start ${ratio(clerk.start, bare.start)}, peak ${ratio(clerk.peak, bare.peak)}, ` +
          `after idle ${ratio(clerk.afterIdle, bare.afterIdle)}; deliveries/s ${ratio(clerk.perSecond, bare.perSecond)}`,
      );
    }
    const verdict = clerk.peak <= 150 * MB ? "MET" : "NOT MET";
    lines.push(`  clerk-sync peak RSS ${mb(clerk.peak)} MB (target ≤ 150 MB) ${verdict}`);
    printSummary(lines, started);
  } finally {
    killAll();
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main);
