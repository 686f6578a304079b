/**
 * Backfill throughput against the Backend API stand-in (`clerk-sync fake-clerk`, its own process),
 * all in one run:
 *
 *   (a) the read-only floor: every page of users walked with the client, nothing written;
 *   (b) `backfill` of the users into SQLite (a fresh file);
 *   (c) the same into PostgreSQL (a fresh schema, dropped afterwards);
 *   (b') the SQLite write path alone: the pages read into memory first, then written (no HTTP);
 *   (d) paced: a stand-in limited to R requests per W ms and a client told the same limit; the
 *       run's time against the time the limit itself imposes (`(ceil(requests / R) - 1) * W`),
 *       and the stand-in's count of 429s (must be 0).
 *
 * Ratios are against the floor measured in the same run (above 0.5: the target).
 *
 * Usage: npm run bench:backfill -- [--users 20000] [--reps 2] [--paced-users 6000]
 *        [--paced-requests 4] [--paced-window-ms 1000] [--postgres-url postgres://postgres@127.0.0.1:5432/test]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { backfill } from "../src/backfill/backfill.js";
import { type ClerkApiClient, createClerkApiClient } from "../src/clerk-api/client.js";
import type { UsersCursor, WalkPage } from "../src/clerk-api/walk.js";
import type { UserJSON } from "../src/core/events.js";
import { openStore } from "../src/store/open.js";
import { assertBuilt, cleanUpOnExit, ROOT, runMain, spawnNode, stopChild } from "./processes.js";
import { fmt, median, printSummary } from "./report.js";

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "20000" },
    reps: { type: "string", default: "2" },
    "paced-users": { type: "string", default: "6000" },
    "paced-requests": { type: "string", default: "4" },
    "paced-window-ms": { type: "string", default: "1000" },
    "postgres-url": {
      type: "string",
      default: process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
  },
});
const USERS = Number(args.users);
const REPS = Number(args.reps);
const PAGE = 500;
const KEY = `sk_test_bench${randomBytes(6).toString("hex")}`;

interface StandIn {
  url: string;
  stop(): Promise<void>;
  stats(): Promise<{ requests: number; rateLimited: number }>;
}

/** `clerk-sync fake-clerk` on a free port, in a process of its own. */
async function startStandIn(users: number, rate: { requests: number; windowMs: number } | null): Promise<StandIn> {
  const argv = [
    join(ROOT, "bin", "clerk-sync.js"),
    "fake-clerk",
    "--port",
    "0",
    "--users",
    String(users),
    "--orgs",
    "0",
    "--secret-key",
    KEY,
    "--rate-limit",
    String(rate?.requests ?? 0),
    ...(rate ? ["--rate-window-ms", String(rate.windowMs)] : []),
  ];
  const child = spawnNode(argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CLERK_SECRET_KEY: "" } });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
      const found = /stand-in on (http:\/\/\S+)/.exec(out);
      if (found?.[1]) resolve(found[1]);
    });
    child.once("exit", (code) => reject(new Error(`fake-clerk exited (${code}): ${out}`)));
  });
  return {
    url,
    stop: () => stopChild(child),
    async stats() {
      const res = await fetch(`${url}/__stand-in/stats`, { headers: { authorization: `Bearer ${KEY}` } });
      return (await res.json()) as { requests: number; rateLimited: number };
    },
  };
}

async function floor(url: string): Promise<number> {
  const client = createClerkApiClient({ apiUrl: url, secretKey: KEY, rateLimit: false });
  const started = performance.now();
  let n = 0;
  for await (const page of client.walkUsers({ pageSize: PAGE })) n += page.items.length;
  if (n !== USERS) throw new Error(`floor walked ${n} users, expected ${USERS}`);
  return (n * 1000) / (performance.now() - started);
}

/**
 * The write path alone: every page read first into memory, then handed to `backfill` by a client
 * that answers from memory (no HTTP, no JSON parse), into a fresh SQLite file.
 */
async function writeOnly(databaseUrl: string, apiUrl: string): Promise<number> {
  const reader = createClerkApiClient({ apiUrl, secretKey: KEY, rateLimit: false });
  const pages: WalkPage<UserJSON, UsersCursor>[] = [];
  for await (const page of reader.walkUsers({ pageSize: PAGE })) pages.push(page);
  const memory = {
    apiUrl: "memory:",
    countUsers: async () => USERS,
    async *walkUsers() {
      yield* pages;
    },
    stats: () => ({ requests: 0, rateLimited: 0, retried: 0 }),
  } as unknown as ClerkApiClient;
  const store = await openStore(databaseUrl);
  try {
    await store.migrate();
    const started = performance.now();
    await backfill({ store, client: memory, kinds: ["users"], pageSize: PAGE });
    return (USERS * 1000) / (performance.now() - started);
  } finally {
    await store.close();
  }
}

async function into(databaseUrl: string, apiUrl: string): Promise<number> {
  const store = await openStore(databaseUrl);
  try {
    await store.migrate();
    const client = createClerkApiClient({ apiUrl, secretKey: KEY, rateLimit: false });
    const started = performance.now();
    const result = await backfill({ store, client, kinds: ["users"], pageSize: PAGE, restart: true });
    const ms = performance.now() - started;
    if (result.counts.users?.inserted !== USERS) throw new Error(`inserted ${result.counts.users?.inserted}`);
    return (USERS * 1000) / ms;
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  assertBuilt();
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "clerk-sync-bench-backfill-"));
  const schemas: string[] = [];
  cleanUpOnExit({ folder: () => dir });
  const standIn = await startStandIn(USERS, null);
  const runs: Record<"floor" | "sqlite" | "postgres" | "write", number[]> = {
    floor: [],
    sqlite: [],
    postgres: [],
    write: [],
  };
  try {
    await floor(standIn.url); // warm-up: the stand-in's and the client's first JSON
    for (let rep = 0; rep < REPS; rep++) {
      runs.floor.push(await floor(standIn.url));
      runs.sqlite.push(await into(`file:${join(dir, `rep${rep}.db`)}`, standIn.url));
      runs.write.push(await writeOnly(`file:${join(dir, `write${rep}.db`)}`, standIn.url));
      const schema = `clerk_sync_bench_${randomBytes(4).toString("hex")}`;
      schemas.push(schema);
      const url = new URL(args["postgres-url"]);
      url.searchParams.set("schema", schema);
      runs.postgres.push(await into(url.toString(), standIn.url));
    }
  } finally {
    await standIn.stop();
    const admin = new pg.Client({ connectionString: args["postgres-url"] });
    await admin.connect().catch(() => undefined);
    for (const s of schemas) await admin.query(`drop schema if exists "${s}" cascade`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }

  const base = median(runs.floor);
  const lines = [
    `Backfill of ${fmt(USERS)} users in pages of ${PAGE}, no rate limit (median of ${REPS}; ratio against the read-only floor)`,
    `  read-only floor (walk, nothing written)  ${fmt(base).padStart(8)} users/s`,
    `  backfill into SQLite                      ${fmt(median(runs.sqlite)).padStart(8)} users/s  ${fmt(median(runs.sqlite) / base, 2)}x`,
    `  SQLite write path alone (pages in memory) ${fmt(median(runs.write)).padStart(8)} users/s  ${fmt(median(runs.write) / base, 2)}x`,
    `  backfill into PostgreSQL                  ${fmt(median(runs.postgres)).padStart(8)} users/s  ${fmt(median(runs.postgres) / base, 2)}x`,
  ];

  // Paced: the time the limit imposes, and 429s.
  const pacedUsers = Number(args["paced-users"]);
  const rate = { requests: Number(args["paced-requests"]), windowMs: Number(args["paced-window-ms"]) };
  const limited = await startStandIn(pacedUsers, rate);
  try {
    const store = await openStore(`file:${join(dir, "paced.db")}`);
    try {
      await store.migrate();
      const client = createClerkApiClient({ apiUrl: limited.url, secretKey: KEY, rateLimit: rate });
      const t0 = performance.now();
      const result = await backfill({ store, client, kinds: ["users"], pageSize: PAGE });
      const ms = performance.now() - t0;
      const stats = await limited.stats();
      const imposed = (Math.ceil(result.requests / rate.requests) - 1) * rate.windowMs;
      lines.push(
        `Paced: ${fmt(pacedUsers)} users, limit ${rate.requests} requests per ${rate.windowMs} ms`,
        `  ${result.requests} requests; the limit imposes ${fmt(imposed)} ms; took ${fmt(ms)} ms (${fmt(ms / imposed, 2)}x); 429s: ${stats.rateLimited}`,
      );
    } finally {
      await store.close();
    }
  } finally {
    await limited.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printSummary(lines, started);
}

runMain(main);
