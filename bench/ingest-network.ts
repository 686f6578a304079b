/**
 * Ingest benchmark on the network databases: the same pre-signed, unique `user.created`
 * deliveries (~1.5 KB each) as bench/ingest.ts, over 32 keep-alive connections (bench/load.ts), to
 *
 *   peer        node:http + @clerk/backend `verifyWebhook` + one plain upsert per event on a pool
 *               of 10 (bench/peer-pg-server.ts: `pg`; bench/peer-mysql-server.ts: `mysql2`),
 *   clerk-sync  `clerk-sync serve` (bin/clerk-sync.js, built dist/) with DATABASE_URL,
 *
 * on PostgreSQL, then on MySQL / MariaDB. Each run gets a schema (PostgreSQL) or database
 * (MySQL) of its own, dropped afterwards, and is verified: every answer 2xx, every measured
 * user's row stored (and, for clerk-sync, every delivery recorded `applied`). Both sides are
 * durable before the 2xx at the server's settings (printed: `synchronous_commit`,
 * `innodb_flush_log_at_trx_commit`). Ratios use the best of the reps; medians are shown too.
 *
 * Each server start first takes 5,000 warm-up deliveries (not timed, the same for both sides), so
 * that the runs measure a receiver in its steady state: after 1,000, V8's optimizing compiler
 * still took ~13% of clerk-sync's CPU during the next 15,000 deliveries (8% after 15,000; `perf
 * record`), and many batch shapes were not yet prepared, and planned, on each pooled connection
 * (PostgreSQL plans a prepared statement afresh for its first five runs). `--warmup 500` gives
 * the warm-up of earlier sessions.
 *
 * Each run prints its events/s, the CPU used per event by the server under test, by the
 * database server (its processes on this machine, all connections) and by the load client, and
 * the database's write volume per event (PostgreSQL: WAL bytes; InnoDB: redo bytes, redo writes,
 * fsyncs). Those counters are server-wide: other work on the same server is counted too.
 *
 * Usage: npm run build && npm run bench:network -- [--events 10000] [--reps 3] [--connections 32]
 *          [--warmup 5000] [--databases postgres,mysql] [--targets peer,clerk-sync] [--profile]
 *          [--postgres-url postgres://postgres@127.0.0.1:5432/test] [--mysql-url mysql://root@127.0.0.1:3306/test]
 *   (= node --import tsx bench/ingest-network.ts …; TEST_POSTGRES_URL / TEST_MYSQL_URL also set the servers)
 *
 * --profile  adds, per database, one clerk-sync run (not counted) under `node --cpu-prof`, with
 *            its database connections through a counting proxy: where the CPU time went, and
 *            the statements (round trips) per delivery by kind.
 * --clerk-sync-bin <path>  runs another build's bin/clerk-sync.js (A/B a change; default this one).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server as NetServer, connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import mysql from "mysql2/promise";
import pg from "pg";
import { averageBodyBytes, type BenchEvent, checkAnswers, makeEvents, sendChecked, signAll } from "./events.js";
import { run } from "./load.js";
import {
  assertBuilt,
  BENCH_DIR,
  cleanUpOnExit,
  clerkSyncServeArgv,
  HOST,
  killAll,
  type ListeningChild,
  processCpuMs,
  ROOT,
  runMain,
  startListening,
  stopChild,
  withStderr,
} from "./processes.js";
import { summarizeCpuProfile } from "./profile.js";
import { byTarget, fmt, printSummary } from "./report.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "10000" },
    reps: { type: "string", default: "3" },
    connections: { type: "string", default: "32" },
    warmup: { type: "string", default: "5000" },
    databases: { type: "string", default: "postgres,mysql" },
    targets: { type: "string", default: "peer,clerk-sync" },
    profile: { type: "boolean", default: false },
    "postgres-url": {
      type: "string",
      default: process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
    "mysql-url": { type: "string", default: process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test" },
    "clerk-sync-bin": { type: "string", default: join(ROOT, "bin", "clerk-sync.js") },
  },
});
const EVENTS = Number(args.events);
const REPS = Number(args.reps);
const CONNECTIONS = Number(args.connections);
const WARMUP = Number(args.warmup);
const TARGET_RATIO = 1.5;

type Target = "peer" | "clerk-sync";
type Kind = "postgres" | "mysql";
const TARGETS = (args.targets ?? "").split(",").map((s) => s.trim()) as Target[];

// ---------------------------------------------------------------- databases

/** Admin access to one database server: per-run schemas / databases, row checks, settings. */
interface DatabaseServer {
  readonly kind: Kind;
  readonly label: string;
  /** A fresh, empty place for one run's tables, and the URL that points there. */
  create(name: string): Promise<string>;
  drop(name: string): Promise<void>;
  /** How many of `ids` are in `table` of `name`, and how many rows the table has. */
  countRows(name: string, table: string, ids: readonly string[]): Promise<{ present: number; total: number }>;
  /** Deliveries recorded `applied` by clerk-sync in `name`. */
  applied(name: string): Promise<number>;
  describe(): Promise<string>;
  /** Server-wide write counters (cumulative): WAL / redo bytes, log flushes where exact. */
  counters(): Promise<Record<string, number>>;
  /** The server's process names, for its CPU time. */
  readonly processNames: readonly string[];
  end(): Promise<void>;
}

async function postgresServer(url: string): Promise<DatabaseServer> {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  await admin.query("select 1");
  return {
    kind: "postgres",
    label: "PostgreSQL",
    processNames: ["postgres"],
    async create(name) {
      // clerk-sync's migrate and the peer each create their schema; dropped in `drop`.
      const withSchema = new URL(url);
      withSchema.searchParams.set("schema", name);
      return withSchema.toString();
    },
    async drop(name) {
      await admin.query(`drop schema if exists "${name}" cascade`);
    },
    async countRows(name, table, ids) {
      const { rows } = await admin.query<{ present: string; total: string }>(
        `select (select count(*) from "${name}"."${table}" where id = any($1)) as present,
                (select count(*) from "${name}"."${table}") as total`,
        [ids],
      );
      return { present: Number(rows[0]?.present), total: Number(rows[0]?.total) };
    },
    async applied(name) {
      const { rows } = await admin.query<{ n: string }>(
        `select count(*) as n from "${name}".clerk_webhook_events where status = 'applied'`,
      );
      return Number(rows[0]?.n);
    },
    async describe() {
      const { rows } = await admin.query<{ name: string; setting: string }>(
        `select name, setting from pg_settings where name in
           ('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay', 'full_page_writes')
         order by name`,
      );
      return rows.map((r) => `${r.name}=${r.setting}`).join(", ");
    },
    async counters() {
      const { rows } = await admin.query<{ lsn: string }>("select pg_current_wal_lsn() - '0/0' as lsn");
      return { "WAL B": Number(rows[0]?.lsn) };
    },
    end: () => admin.end(),
  };
}

async function mysqlServer(url: string): Promise<DatabaseServer> {
  const admin = mysql.createPool({ uri: url.replace(/^mariadb:/, "mysql:"), connectionLimit: 2 });
  await admin.query("select 1");
  const urlOf = (database: string) => {
    const u = new URL(url);
    u.pathname = `/${database}`;
    return u.toString();
  };
  const [versionRows] = (await admin.query("select version() as v")) as unknown as [{ v: string }[]];
  const flavour = versionRows[0]?.v.includes("MariaDB") ? "MariaDB" : "MySQL";
  return {
    kind: "mysql",
    label: flavour,
    processNames: ["mariadbd", "mysqld"],
    async create(name) {
      await admin.query(`create database \`${name}\``);
      return urlOf(name);
    },
    async drop(name) {
      await admin.query(`drop database if exists \`${name}\``);
    },
    async countRows(name, table, ids) {
      const [rows] = (await admin.query(
        `select (select count(*) from \`${name}\`.\`${table}\` where id in (?)) as present,
                (select count(*) from \`${name}\`.\`${table}\`) as total`,
        [ids],
      )) as unknown as [{ present: number; total: number }[]];
      return { present: Number(rows[0]?.present), total: Number(rows[0]?.total) };
    },
    async applied(name) {
      const [rows] = (await admin.query(
        `select count(*) as n from \`${name}\`.clerk_webhook_events where status = 'applied'`,
      )) as unknown as [{ n: number }[]];
      return Number(rows[0]?.n);
    },
    async describe() {
      const [rows] = (await admin.query(
        `select version() as version, @@innodb_flush_log_at_trx_commit as innodb_flush_log_at_trx_commit,
                @@sync_binlog as sync_binlog, @@log_bin as log_bin, @@innodb_flush_method as flush_method,
                @@innodb_doublewrite as doublewrite, @@innodb_buffer_pool_size as buffer_pool`,
      )) as unknown as [Record<string, unknown>[]];
      return Object.entries(rows[0] ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(", ");
    },
    async counters() {
      const [rows] = (await admin.query(
        "show global status where variable_name in ('Innodb_os_log_written', 'Innodb_log_writes', 'Innodb_data_fsyncs')",
      )) as unknown as [{ Variable_name: string; Value: string }[]];
      const value = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value);
      return {
        "redo B": value("Innodb_os_log_written"),
        "redo writes": value("Innodb_log_writes"),
        fsyncs: value("Innodb_data_fsyncs"),
      };
    },
    end: () => admin.end(),
  };
}

// ---------------------------------------------------------------- child processes

/** Schemas / databases created and not yet dropped, dropped on the way out. */
const leftovers = new Map<string, DatabaseServer>();

let tempRoot: string | undefined;
cleanUpOnExit({ folder: () => tempRoot, onSignal: dropLeftovers });

async function dropLeftovers(): Promise<void> {
  for (const [name, server] of leftovers) {
    await server.drop(name).catch(() => undefined);
    leftovers.delete(name);
  }
}

function startServer(target: Target, kind: Kind, url: string, dir: string, secret: string, cpuProfDir?: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, CLERK_WEBHOOK_SIGNING_SECRET: secret, LOG_LEVEL: "info" };
  delete env.DATABASE_URL;
  let argv: string[];
  if (target === "peer") {
    const peer = kind === "postgres" ? "peer-pg-server.ts" : "peer-mysql-server.ts";
    argv = ["--import", "tsx", join(BENCH_DIR, peer), url];
  } else {
    env.DATABASE_URL = url;
    argv = clerkSyncServeArgv(args["clerk-sync-bin"], cpuProfDir);
  }
  // cwd = a temp folder, so that clerk-sync reads no .env file of the project.
  return startListening(target, argv, { cwd: target === "clerk-sync" ? dir : ROOT, env }, 30_000);
}

const stopServer = (server: ListeningChild) => stopChild(server.child);

/** CPU ms so far of every process with one of these names (the database server's, if local). */
function processesCpuMs(names: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (names.includes(comm)) out.set(Number(pid), processCpuMs(Number(pid)));
    } catch {
      // gone
    }
  }
  return out;
}

function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, cpu] of after) ms += cpu - (before.get(pid) ?? 0);
  return ms;
}

// ---------------------------------------------------------------- verification

async function checkRows(
  db: DatabaseServer,
  target: Target,
  name: string,
  measured: readonly BenchEvent[],
  warmup: number,
): Promise<string> {
  const table = target === "peer" ? "users" : "clerk_users";
  const { present, total } = await db.countRows(
    name,
    table,
    measured.map((e) => e.userId),
  );
  if (present !== measured.length || total !== measured.length + warmup) {
    throw new Error(
      `${target}: ${present}/${measured.length} measured users stored, ${total} rows in ${table} (expected ${measured.length + warmup})`,
    );
  }
  let deliveries = "";
  if (target === "clerk-sync") {
    const applied = await db.applied(name);
    if (applied !== measured.length + warmup) {
      throw new Error(`clerk-sync recorded ${applied} applied deliveries, expected ${measured.length + warmup}`);
    }
    deliveries = `, ${applied} applied`;
  }
  return `${table}: ${present} measured rows ✓ (${total} with warm-up${deliveries})`;
}

// ---------------------------------------------------------------- the counting proxy (--profile)

/**
 * A TCP proxy between clerk-sync and the database that counts the commands the client sends,
 * by kind: PostgreSQL simple queries (`Q`) and extended-protocol runs (`Bind`, counted under the
 * text its statement was parsed from, prepared or not), MySQL `COM_QUERY` texts. Each is one
 * round trip (a Sync per extended query).
 */
class CountingProxy {
  readonly counts = new Map<string, number>();
  #server: NetServer | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly kind: Kind,
    private readonly upstream: { host: string; port: number },
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const database = netConnect(this.upstream);
      this.#sockets.add(client).add(database);
      const parse = this.kind === "postgres" ? this.#postgresParser() : this.#mysqlParser();
      client.on("data", (chunk: Buffer) => {
        parse(chunk);
        database.write(chunk);
      });
      database.pipe(client);
      const close = () => {
        client.destroy();
        database.destroy();
      };
      client.on("close", close).on("error", close);
      database.on("close", close).on("error", close);
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
    this.port = (server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  #count(text: string): void {
    const key = statementKind(text);
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** Frontend messages: an untyped startup message, then type byte + int32 length + body. */
  #postgresParser(): (chunk: Buffer) => void {
    let buf = Buffer.alloc(0);
    let started = false;
    const texts = new Map<string, string>();
    return (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const length = buf.readInt32BE(0);
          if (buf.length < length) return;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(length);
          if (code !== 80877103) started = true; // not an SSLRequest: the startup message
          continue;
        }
        if (buf.length < 5) return;
        const type = String.fromCharCode(buf[0] as number);
        const length = buf.readInt32BE(1);
        if (buf.length < 1 + length) return;
        const body = buf.subarray(5, 1 + length);
        if (type === "Q") this.#count(body.toString("utf8", 0, body.indexOf(0)));
        if (type === "P") {
          // Parse: statement name, text. A named (prepared) statement is parsed once per connection.
          const nameEnd = body.indexOf(0);
          texts.set(
            body.toString("utf8", 0, nameEnd),
            body.toString("utf8", nameEnd + 1, body.indexOf(0, nameEnd + 1)),
          );
        }
        if (type === "B") {
          // Bind: portal name, statement name; one per run of an extended-protocol statement.
          const portalEnd = body.indexOf(0);
          const name = body.toString("utf8", portalEnd + 1, body.indexOf(0, portalEnd + 1));
          this.#count(texts.get(name) ?? `(prepared statement ${name})`);
        }
        buf = buf.subarray(1 + length);
      }
    };
  }

  /** Client packets: 3-byte length + sequence id; a command is a packet with sequence 0. */
  #mysqlParser(): (chunk: Buffer) => void {
    let buf = Buffer.alloc(0);
    return (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (buf.length < 4) return;
        const length = buf.readUIntLE(0, 3);
        if (buf.length < 4 + length) return;
        const seq = buf[3];
        const command = buf[4];
        if (seq === 0 && command === 0x03) this.#count(buf.toString("utf8", 5, 4 + length));
        else if (seq === 0 && command !== undefined) this.#count(`(command 0x${command.toString(16)})`);
        buf = buf.subarray(4 + length);
      }
    };
  }
}

/** A statement's kind: its verb and table (`INSERT clerk_users`, `SAVEPOINT`, `SELECT 1`, …). */
function statementKind(text: string): string {
  const t = text.trim().replace(/\s+/g, " ");
  const table = /^(?:insert into|update|delete from|select .*? from) [`"]?([\w.]+)[`"]?/i.exec(t)?.[1];
  const verb = (t.split(" ")[0] ?? "").toUpperCase();
  if (verb === "INSERT" && / on (conflict|duplicate key)/i.test(t)) {
    const returning = / returning /i.test(t) ? " … RETURNING" : "";
    return `INSERT ${table} … ON ${/on conflict/i.test(t) ? "CONFLICT" : "DUPLICATE KEY"}${returning}`;
  }
  if (table) return `${verb} ${table}${/for update/i.test(t) ? " FOR UPDATE" : ""}`;
  return t.length > 60 ? `${t.slice(0, 57)}…` : t;
}

// ---------------------------------------------------------------- runs

interface RunResult {
  target: Target;
  eventsPerSecond: number;
}

async function throughputRun(
  db: DatabaseServer,
  target: Target,
  root: string,
  secret: string,
  warmup: readonly BenchEvent[],
  measured: readonly BenchEvent[],
  profile?: { cpuProfDir: string; proxy: CountingProxy },
): Promise<RunResult> {
  const name = `bench_${randomBytes(5).toString("hex")}`;
  leftovers.set(name, db);
  let url = await db.create(name);
  if (profile) {
    const u = new URL(url);
    u.hostname = HOST;
    u.port = String(profile.proxy.port);
    url = u.toString();
  }
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const server = await startServer(target, db.kind, url, dir, secret, profile?.cpuProfDir);
  try {
    const warm = signAll(warmup, secret);
    const requests = signAll(measured, secret);
    if (warm.length > 0) await sendChecked(`${target} warm-up`, server.port, warm, CONNECTIONS);
    profile?.proxy.counts.clear();
    const cpu0 = processCpuMs(server.child.pid);
    const dbCpu0 = processesCpuMs(db.processNames);
    const counters0 = await db.counters();
    const result = await run({ host: HOST, port: server.port, requests, connections: CONNECTIONS });
    const serverCpuMs = processCpuMs(server.child.pid) - cpu0;
    const dbCpuMs = cpuDelta(dbCpu0, processesCpuMs(db.processNames));
    const counters1 = await db.counters();
    const perEvent = Object.entries(counters1)
      .map(([k, v]) => {
        const n = (v - (counters0[k] ?? 0)) / requests.length;
        return `${k.endsWith(" B") ? fmt(n / 1024, 1) : fmt(n, 3)} ${k.endsWith(" B") ? `${k.slice(0, -2)} KiB` : k}`;
      })
      .join(", ");
    checkAnswers(target, result, requests.length);
    await stopServer(server);
    const rows = await checkRows(db, target, name, measured, warmup.length);
    const eventsPerSecond = (requests.length * 1000) / result.elapsedMs;
    // Share of one core over the run, and CPU ms per event.
    const pct = (ms: number) =>
      `${((100 * ms) / result.elapsedMs).toFixed(0)}% (${(ms / requests.length).toFixed(2)} ms/ev)`;
    console.log(
      `  ${target.padEnd(10)} ${fmt(eventsPerSecond).padStart(6)} ev/s  ${(result.elapsedMs / 1000).toFixed(2)} s` +
        `  CPU: server ${pct(serverCpuMs)}, database ${pct(dbCpuMs)}, client ${pct(result.clientCpuMs)}` +
        `  per event: ${perEvent}  all ${requests.length} 2xx ✓  ${rows}`,
    );
    return { target, eventsPerSecond };
  } catch (error) {
    throw withStderr(error, target, server.stderr());
  } finally {
    await stopServer(server);
    await db.drop(name);
    leftovers.delete(name);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One clerk-sync run under --cpu-prof and the counting proxy: CPU profile and statements per delivery. */
async function profileRun(
  db: DatabaseServer,
  serverUrl: string,
  root: string,
  secret: string,
  warmup: readonly BenchEvent[],
  measured: readonly BenchEvent[],
): Promise<string> {
  const upstream = new URL(serverUrl);
  const proxy = new CountingProxy(db.kind, {
    host: upstream.hostname,
    port: Number(upstream.port || (db.kind === "postgres" ? 5432 : 3306)),
  });
  await proxy.start();
  const cpuProfDir = join(root, `cpu-prof-${db.kind}`);
  mkdirSync(cpuProfDir, { recursive: true });
  try {
    console.log(`  profiled run (not counted; connections through a counting proxy):`);
    await throughputRun(db, "clerk-sync", root, secret, warmup, measured, { cpuProfDir, proxy });
  } finally {
    await proxy.stop();
  }
  const total = [...proxy.counts.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `statements sent by clerk-sync during the measured ${fmt(measured.length)} deliveries: ${fmt(total)} = ${(total / measured.length).toFixed(2)} per delivery`,
    ...[...proxy.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(
        ([kind, n]) => `  ${(n / measured.length).toFixed(3).padStart(7)} /delivery  ${fmt(n).padStart(7)}  ${kind}`,
      ),
  ];
  const file = readdirSync(cpuProfDir).find((f) => f.endsWith(".cpuprofile"));
  lines.push(file ? summarizeCpuProfile(join(cpuProfDir, file), 20) : "no .cpuprofile was written");
  return lines.join("\n");
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  assertBuilt();
  const started = performance.now();
  const root = mkdtempSync(join(tmpdir(), "clerk-sync-bench-net-"));
  tempRoot = root;
  const secret = `whsec_${randomBytes(24).toString("base64")}`;
  const kinds = (args.databases ?? "").split(",").map((s) => s.trim()) as Kind[];
  const summaries: string[] = [];
  const profiles: string[] = [];
  const warmup = makeEvents(WARMUP);
  const measured = makeEvents(EVENTS);
  const avgBytes = averageBodyBytes(measured);
  console.log(
    `network ingest bench: ${fmt(EVENTS)} unique user.created events (avg ${fmt(avgBytes)} B body), ` +
      `${CONNECTIONS} keep-alive connections, ${REPS} reps (+${fmt(WARMUP)} warm-up events per server start, not timed); ` +
      `a fresh schema / database per run`,
  );
  try {
    for (const kind of kinds) {
      const serverUrl = kind === "postgres" ? (args["postgres-url"] as string) : (args["mysql-url"] as string);
      const db = kind === "postgres" ? await postgresServer(serverUrl) : await mysqlServer(serverUrl);
      try {
        const settings = await db.describe();
        console.log(`\n${db.label}: ${settings}`);
        const runs: RunResult[] = [];
        for (let rep = 1; rep <= REPS; rep++) {
          console.log(`rep ${rep}/${REPS}`);
          // Alternate the order each rep, so that drift in the shared machine's speed favours no one.
          const order = rep % 2 === 1 ? TARGETS : [...TARGETS].reverse();
          for (const target of order) runs.push(await throughputRun(db, target, root, secret, warmup, measured));
        }
        const { best, median: mid, list } = byTarget(runs);
        const lines = [`${db.label} (${settings})`];
        for (const t of TARGETS) {
          const label =
            t === "peer"
              ? `peer: verifyWebhook + ${kind === "postgres" ? "pg" : "mysql2"} upsert/event`
              : "clerk-sync serve";
          lines.push(
            `  ${label.padEnd(42)} best ${fmt(best(t)).padStart(6)} ev/s  median ${fmt(mid(t)).padStart(6)}  (runs ${list(t)})`,
          );
        }
        if (TARGETS.includes("peer") && TARGETS.includes("clerk-sync")) {
          const ratio = best("clerk-sync") / best("peer");
          lines.push(
            `  ${db.label}: clerk-sync/peer = ${ratio.toFixed(2)}× best/best (target ≥ ${TARGET_RATIO}) ${ratio >= TARGET_RATIO ? "MET" : "NOT MET"}` +
              `  [median/median ${(mid("clerk-sync") / mid("peer")).toFixed(2)}×]`,
          );
        }
        summaries.push(lines.join("\n"));
        if (args.profile)
          profiles.push(`${db.label}:\n${await profileRun(db, serverUrl, root, secret, warmup, measured)}`);
      } finally {
        await dropLeftovers();
        await db.end();
      }
    }
    printSummary(
      [
        `summary: ${fmt(EVENTS)} events per run, ${CONNECTIONS} connections, ${REPS} reps; verified all 2xx and all rows stored; ` +
          "both sides durable before the 2xx at the settings shown",
        ...summaries,
      ],
      started,
    );
    for (const p of profiles) console.log(`\n${p}`);
  } finally {
    killAll();
    await dropLeftovers();
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main, dropLeftovers);
