/**
 * Next.js route benchmark: the same pre-signed, unique `user.created` deliveries (~1.5 KB, compact
 * JSON) sent to two `next start` production builds, one after the other, each behind the same
 * `clerkMiddleware()` proxy:
 *
 *   guide       bench/next-guide-app: the route as Clerk's guide has shown it (svix
 *               `Webhook.verify` on `JSON.stringify(await req.json())`, `console.log` of the
 *               payload to a log file), no database;
 *   clerk-sync  examples/nextjs: `export const { POST } = createClerkSyncRoute()`, every event
 *               applied to SQLite (WAL, synchronous=FULL) before the 2xx.
 *
 * over 32 keep-alive connections (one request in flight each, like Svix), after a warm-up. Every
 * run is checked: every answer 2xx, and every event's user row (clerk-sync) or log line (guide)
 * present. Prints events/s of each and the ratio clerk-sync / guide.
 *
 * Usage: node --import tsx bench/next-route.ts [--events 8000] [--connections 32] [--warmup 500]
 *          [--reps 1] [--floor] [--rebuild] [--keep] [--profile]
 * --floor adds a third target: the guide app's /api/noop (same app and proxy, the route reads
 * the body and answers 200), to show what each route costs on top of Next.js and clerkMiddleware().
 * --profile runs every server under `node --cpu-prof` and prints where each one's CPU time went
 * (the profiler's own cost slows both alike; compare ratios from runs without it).
 * Builds what is missing first: examples/nextjs via scripts/build-examples.sh, the guide app with
 * npm ci + next build (--rebuild forces both).
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { generateSecret } from "../src/server/env-files.js";
import { type BenchEvent, makeEvents, signAll } from "./events.js";
import { percentile } from "./load.js";
import { BENCH_DIR, cleanUpOnExit, processCpuMs, ROOT, spawnNode, stopChild } from "./processes.js";
import { summarizeCpuProfile } from "./profile.js";
import { byTarget } from "./report.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "8000" },
    connections: { type: "string", default: "32" },
    warmup: { type: "string", default: "500" },
    reps: { type: "string", default: "1" },
    floor: { type: "boolean", default: false },
    rebuild: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});
const EVENTS = Number(args.events);
const CONNECTIONS = Number(args.connections);
const WARMUP = Number(args.warmup);
const REPS = Number(args.reps);

type Target = "guide" | "clerk-sync" | "floor";
const GUIDE_DIR = join(BENCH_DIR, "next-guide-app");
const APPS: Record<Target, { dir: string; path: string; label: string }> = {
  guide: { dir: GUIDE_DIR, path: "/api/webhooks", label: "guide: svix verify(JSON.stringify(json)) + console.log" },
  "clerk-sync": {
    dir: join(ROOT, "examples", "nextjs"),
    path: "/api/webhooks",
    label: "clerk-sync route: SQLite, durable",
  },
  floor: { dir: GUIDE_DIR, path: "/api/noop", label: "floor: same app and proxy, read body + 200" },
};
const TARGETS: Target[] = args.floor ? ["guide", "clerk-sync", "floor"] : ["guide", "clerk-sync"];
/** Keys @clerk/nextjs accepts without calling Clerk (see test/helpers/example-app.ts). */
const CLERK_KEYS = {
  NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: `pk_live_${Buffer.from("clerk.example.com$").toString("base64")}`,
  CLERK_SECRET_KEY: "sk_live_example_not_a_real_key",
};

// ---------------------------------------------------------------- processes and temp files

const tempRoot = mkdtempSync(join(tmpdir(), "clerk-sync-bench-next-"));
cleanUpOnExit({ folder: () => (args.keep ? undefined : tempRoot) });

function ensureBuilt(): void {
  const run = (file: string, argv: string[], cwd: string) =>
    execFileSync(file, argv, { cwd, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (args.rebuild || !existsSync(join(APPS["clerk-sync"].dir, ".next", "BUILD_ID"))) {
    run("bash", [join(ROOT, "scripts", "build-examples.sh"), "nextjs"], ROOT);
  }
  const guide = GUIDE_DIR;
  if (args.rebuild || !existsSync(join(guide, ".next", "server", "app", "api", "noop", "route.js"))) {
    run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], guide);
    run("npm", ["run", "-s", "build"], guide);
  }
}

interface Server {
  child: ChildProcess;
  port: number;
  logFile: string;
  dbFile: string;
}

async function startServer(target: Target, port: number, secret: string, rep: number): Promise<Server> {
  const { dir } = APPS[target];
  const logFile = join(tempRoot, `${target}-${rep}.log`);
  const dbFile = join(tempRoot, `${target}-${rep}.db`);
  const log = openSync(logFile, "w");
  const child = spawnNode(
    [
      ...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${join(tempRoot, `profile-${target}-${rep}`)}`] : []),
      join(dir, "node_modules", "next", "dist", "bin", "next"),
      "start",
      "-p",
      String(port),
      "-H",
      "localhost",
    ],
    {
      cwd: dir,
      env: {
        ...process.env,
        ...CLERK_KEYS,
        NODE_ENV: "production",
        NEXT_TELEMETRY_DISABLED: "1",
        CLERK_WEBHOOK_SIGNING_SECRET: secret,
        SIGNING_SECRET: secret,
        DATABASE_URL: `file:${dbFile}`,
      },
      stdio: ["ignore", log, log],
    },
  );
  closeSync(log);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target} exited:\n${readFileSync(logFile, "utf8")}`);
    try {
      await fetch(`http://localhost:${port}${APPS[target].path}`, {
        signal: AbortSignal.timeout(2000),
        redirect: "manual",
      });
      return { child, port, logFile, dbFile };
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`${target} did not answer:\n${readFileSync(logFile, "utf8")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer().once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

const stopServer = ({ child }: Server) => stopChild(child, 10_000);

// ---------------------------------------------------------------- load

/** End of the first complete HTTP/1.1 response in `buf` (content-length or chunked), or -1. */
function responseEnd(buf: Buffer): number {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) return -1;
  const head = buf.toString("latin1", 0, headEnd);
  let pos = headEnd + 4;
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  if (length) return buf.length >= pos + Number(length[1]) ? pos + Number(length[1]) : -1;
  if (!/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) return pos;
  for (;;) {
    const lineEnd = buf.indexOf("\r\n", pos);
    if (lineEnd < 0) return -1;
    const size = Number.parseInt(buf.toString("latin1", pos, lineEnd), 16);
    pos = lineEnd + 2 + size + 2; // chunk data and its CRLF; the last chunk (0) has no trailers here
    if (pos > buf.length) return -1;
    if (size === 0) return pos;
  }
}

interface RunResult {
  elapsedMs: number;
  statuses: Map<number, number>;
  firstFailure: string | undefined;
  latenciesMs: Float64Array;
}

/**
 * Sends each request once over `connections` keep-alive sockets, one in flight per socket (a
 * closed loop), and waits for every answer. Unlike bench/load.ts it reads chunked replies, which
 * is how `next start` answers a Route Handler's Response.
 */
async function drive(port: number, requests: readonly Buffer[], connections: number): Promise<RunResult> {
  const statuses = new Map<number, number>();
  const latenciesMs = new Float64Array(requests.length);
  let firstFailure: string | undefined;
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const sockets: Socket[] = [];
  const open = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect({ host: "localhost", port });
      socket.setNoDelay(true);
      sockets.push(socket);
      let pending: Buffer = Buffer.alloc(0);
      let index = -1;
      let sentAt = 0;
      const send = () => {
        if (next >= requests.length) return;
        index = next++;
        sentAt = performance.now();
        socket.write(requests[index] as Buffer);
      };
      socket.once("connect", () => {
        resolve();
        send();
      });
      socket.on("error", (error) => (index < 0 ? reject(error) : fail(error)));
      socket.on("close", () => {
        if (done < requests.length) fail(new Error(`connection closed by the server (request #${index})`));
      });
      socket.on("data", (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        for (let end = responseEnd(pending); end >= 0; end = responseEnd(pending)) {
          const status = Number(pending.toString("latin1", 9, 12));
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if ((status < 200 || status > 299) && firstFailure === undefined) {
            firstFailure = pending.toString("utf8", 0, Math.min(end, 600));
          }
          latenciesMs[index] = performance.now() - sentAt;
          pending = pending.subarray(end);
          if (++done === requests.length) finish();
          else send();
        }
      });
    });
  await Promise.all(Array.from({ length: Math.min(connections, requests.length) }, open));
  // A stalled server fails the run instead of hanging it.
  let seen = -1;
  const watchdog = setInterval(() => {
    if (done === seen) fail(new Error(`no answer for 30 s (${done}/${requests.length} answered)`));
    seen = done;
  }, 30_000);
  try {
    await finished;
    return { elapsedMs: performance.now() - t0, statuses, firstFailure, latenciesMs };
  } finally {
    clearInterval(watchdog);
    for (const socket of sockets) socket.destroy();
  }
}

// ---------------------------------------------------------------- events and checks

/**
 * Signs every event now (bench/events.ts: compact JSON, which survives the guide's parse +
 * re-serialize) and serialises each POST once. The Host header names the server as it knows
 * itself (`localhost:<port>`): with another host, Next.js treats the rewrite that
 * clerkMiddleware() returns as external and proxies every request over HTTP to itself.
 */
function signFor(events: readonly BenchEvent[], secret: string, port: number, path: string): Buffer[] {
  return signAll(events, secret, (headers, body) => {
    const bytes = Buffer.from(body);
    let head = `POST ${path} HTTP/1.1\r\nhost: localhost:${port}\r\nconnection: keep-alive\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    return Buffer.concat([Buffer.from(`${head}content-length: ${bytes.length}\r\n\r\n`, "latin1"), bytes]);
  });
}

/**
 * How many of `events` the target took in: user rows (clerk-sync), "Received webhook" log lines
 * (guide); the floor keeps nothing, so every event counts.
 */
function countStored(target: Target, server: Server, events: readonly BenchEvent[]): number {
  if (target === "floor") return events.length;
  if (target === "guide") {
    const ids = new Set(events.map((e) => e.userId));
    const seen = new Set<string>();
    for (const match of readFileSync(server.logFile, "utf8").matchAll(/Received webhook with ID (\S+) /g)) {
      if (ids.has(match[1] as string)) seen.add(match[1] as string);
    }
    return seen.size;
  }
  const db = new Database(server.dbFile, { readonly: true });
  try {
    const ids = new Set(events.map((e) => e.userId));
    const rows = db.prepare("select id from clerk_users where deleted_at is null").all() as { id: string }[];
    return rows.filter((r) => ids.has(r.id)).length;
  } finally {
    db.close();
  }
}

interface Measured {
  target: Target;
  eventsPerSecond: number;
  p50: number;
  p99: number;
  ok2xx: number;
  stored: number;
  /** CPU time the server process used per measured event (user + system, all threads), µs. */
  cpuPerEventUs: number;
  /** clerk-sync: size of the SQLite WAL file at the end of the run (checkpointing keeps it small). */
  walBytes: number | undefined;
  firstFailure: string | undefined;
}

async function measure(target: Target, rep: number): Promise<Measured> {
  const secret = generateSecret();
  const port = await freePort();
  const server = await startServer(target, port, secret, rep);
  try {
    const warmup = makeEvents(WARMUP);
    const events = makeEvents(EVENTS);
    if (WARMUP > 0) await drive(port, signFor(warmup, secret, port, APPS[target].path), CONNECTIONS);
    const requests = signFor(events, secret, port, APPS[target].path);
    const cpu0 = processCpuMs(server.child.pid);
    const result = await drive(port, requests, CONNECTIONS);
    const cpuMs = processCpuMs(server.child.pid) - cpu0;
    let ok2xx = 0;
    for (const [status, n] of result.statuses) if (status >= 200 && status <= 299) ok2xx += n;
    return {
      target,
      eventsPerSecond: EVENTS / (result.elapsedMs / 1000),
      p50: percentile(result.latenciesMs, 50),
      p99: percentile(result.latenciesMs, 99),
      ok2xx,
      stored: countStored(target, server, events),
      cpuPerEventUs: (cpuMs * 1000) / EVENTS,
      walBytes: existsSync(`${server.dbFile}-wal`) ? statSync(`${server.dbFile}-wal`).size : undefined,
      firstFailure: result.firstFailure,
    };
  } finally {
    await stopServer(server);
  }
}

// ---------------------------------------------------------------- main

ensureBuilt();
const nextVersion = JSON.parse(
  readFileSync(join(APPS["clerk-sync"].dir, "node_modules", "next", "package.json"), "utf8"),
).version;
console.log(
  `\nNext.js route benchmark: ${EVENTS} unique user.created (~1.5 KB) per run, ${CONNECTIONS} keep-alive connections, ` +
    `${WARMUP} warm-up events; next ${nextVersion} start; ${cpus().length} cores; ${REPS} rep(s)\n`,
);
const results: Measured[] = [];
for (let rep = 0; rep < REPS; rep++) {
  // Alternate the order so that neither target always runs on a warmer machine.
  const order = rep % 2 === 0 ? TARGETS : [...TARGETS].reverse();
  for (const target of order) {
    const m = await measure(target, rep);
    results.push(m);
    const check = m.ok2xx === EVENTS && m.stored === EVENTS ? "ok" : "FAILED";
    console.log(
      `${APPS[target].label.padEnd(56)} ${m.eventsPerSecond.toFixed(0).padStart(6)} events/s  ` +
        `server CPU ${m.cpuPerEventUs.toFixed(0)} µs/event  p50 ${m.p50.toFixed(0)} ms  p99 ${m.p99.toFixed(0)} ms  2xx ${m.ok2xx}/${EVENTS}  ` +
        `${target === "clerk-sync" ? "rows" : "logged"} ${m.stored}/${EVENTS}  ${check}` +
        (m.walBytes !== undefined ? `  (WAL ${(m.walBytes / 1048576).toFixed(1)} MiB)` : ""),
    );
    if (m.firstFailure) console.log(`  first failure: ${m.firstFailure.replace(/\s+/g, " ").slice(0, 300)}`);
  }
}

const { median } = byTarget(results);
const guide = median("guide");
const clerkSync = median("clerk-sync");
const cpu = (target: Target) => {
  const values = results.filter((r) => r.target === target).map((r) => r.cpuPerEventUs);
  return values.reduce((a, b) => a + b, 0) / values.length;
};
const allOk = results.every((r) => r.ok2xx === EVENTS && r.stored === EVENTS);
console.log(
  `\nmedian events/s: guide ${guide.toFixed(0)}, clerk-sync ${clerkSync.toFixed(0)}; ` +
    `ratio clerk-sync / guide = ${(clerkSync / guide).toFixed(2)}x (target >= 1.00x)\n` +
    `mean server CPU per event: guide ${cpu("guide").toFixed(0)} µs, clerk-sync ${cpu("clerk-sync").toFixed(0)} µs ` +
    `(guide / clerk-sync = ${(cpu("guide") / cpu("clerk-sync")).toFixed(2)}x; less sensitive to other load on the machine)\n` +
    (args.floor
      ? `above the floor (${cpu("floor").toFixed(0)} µs/event): guide ${(cpu("guide") - cpu("floor")).toFixed(0)} µs, ` +
        `clerk-sync ${(cpu("clerk-sync") - cpu("floor")).toFixed(0)} µs of server CPU per event\n`
      : "") +
    `correctness: ${allOk ? "every answer 2xx, every event stored" : "FAILED"}`,
);
if (args.profile) {
  // One profile per server run (next start serves in its own process); the last rep of each target.
  for (const target of TARGETS) {
    const dir = join(tempRoot, `profile-${target}-${REPS - 1}`);
    const file = existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith(".cpuprofile")) : undefined;
    console.log(
      `\n== CPU profile: ${APPS[target].label}\n${file ? summarizeCpuProfile(join(dir, file), 25) : "none written"}`,
    );
  }
}
process.exitCode = allOk ? 0 : 1;
