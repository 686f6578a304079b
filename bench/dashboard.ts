/**
 * The dashboard's pages with 1,000,000 stored deliveries (and one attempt each) on SQLite: every
 * filter of the deliveries list, a deep keyset page, a delivery's page and the health page, each
 * a real HTTP GET with a session (the page rendered, the bytes read). Figures are medians of
 * `--reps` requests, printed against two baselines measured in the same run: the 200 ms budget,
 * and a bare `SELECT 1` over the same store's Kysely (the floor of any query).
 *
 * The database is built once into a temp file (about 20 s) with a prepared insert, the
 * migrations' own schema and indexes; `--keep <file>` reuses it across runs.
 *
 * With `--postgres <url>` the same rows are built inside PostgreSQL (generate_series, a schema of
 * their own, dropped after) and benched the same way.
 *
 * Usage: npm run bench:dashboard -- [--deliveries 1000000] [--reps 15] [--keep /tmp/dash-bench.db]
 *        [--postgres postgres://postgres@127.0.0.1:5432/test]
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { createDashboard } from "../src/dashboard/dashboard.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";

const { values: args } = parseArgs({
  options: {
    deliveries: { type: "string", default: "1000000" },
    reps: { type: "string", default: "15" },
    keep: { type: "string" },
    postgres: { type: "string" },
  },
});
const N = Number(args.deliveries);
const REPS = Number(args.reps);
const BUDGET_MS = 200;
const TOKEN = "bench-dashboard-token-0123456789";
const DAY = 86_400_000;
const now = Date.now();

const dir = mkdtempSync(join(tmpdir(), "clerk-sync-dash-bench-"));
const file = args.keep ?? join(dir, "bench.db");
const TYPES = [
  "user.created",
  "user.updated",
  "session.created",
  "session.ended",
  "organization.updated",
  "organizationMembership.created",
  "email.created",
  "user.deleted",
  "organization.created",
  "role.created",
];

/** Status by index: 96% applied, 2% failed, 1% stale, 1% ignored. */
const statusOf = (i: number) =>
  i % 100 < 96 ? "applied" : i % 100 < 98 ? "failed" : i % 100 === 98 ? "stale" : "ignored";
const objectOf = (i: number) => `user_${String(i % 100_000).padStart(8, "0")}`;
const svixOf = (i: number) => `msg_${String(i).padStart(10, "0")}`;

async function build(): Promise<void> {
  const store = openSqliteStore({ filename: file });
  await store.migrate();
  await store.close();
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const insertEvent = db.prepare(
    `insert into clerk_webhook_events (svix_id, type, object_type, object_id, event_timestamp, first_received_at,
     last_received_at, delivery_count, status, last_outcome, error_code, error_message, payload)
     values (?, ?, 'user', ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`,
  );
  const insertAttempt = db.prepare(
    `insert into clerk_webhook_attempts (svix_id, attempt, received_at, source, outcome, http_status, error_code, error_message, duration_ms)
     values (?, 1, ?, 'webhook', ?, ?, ?, ?, ?)`,
  );
  const payload = JSON.stringify({ object: "event", type: "user.updated", data: { id: "user_x", first_name: "Ada" } });
  const started = performance.now();
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      // Spread over the last 30 days, newest last.
      const at = now - Math.floor(((N - i) / N) * 30 * DAY);
      const status = statusOf(i);
      const failed = status === "failed";
      insertEvent.run(
        svixOf(i),
        TYPES[i % TYPES.length],
        objectOf(i),
        at,
        at,
        at,
        status,
        status,
        failed ? "hook_failed" : null,
        failed ? "A hook threw" : null,
        payload,
      );
      insertAttempt.run(svixOf(i), at, status, failed ? 500 : 200, failed ? "hook_failed" : null, null, 1 + (i % 7));
    }
  });
  for (let i = 0; i < N; i += 10_000) batch(i, Math.min(N, i + 10_000));
  db.exec("analyze");
  db.close();
  console.log(
    `built ${N.toLocaleString()} deliveries (+ attempts) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}

/** The same rows built inside PostgreSQL (generate_series), in a schema of their own. */
async function buildPostgres(url: string, schema: string): Promise<ClerkSyncStore> {
  const store = await openPostgresStore({ url, schema });
  await store.migrate();
  const started = performance.now();
  const types = sql.raw(`array[${TYPES.map((t) => `'${t}'`).join(",")}]`);
  const at = sql.raw(`(${now}::bigint - ((${N} - i)::bigint * ${30 * DAY} / ${N}))`);
  const status = sql.raw(
    "(case when i % 100 < 96 then 'applied' when i % 100 < 98 then 'failed' when i % 100 = 98 then 'stale' else 'ignored' end)",
  );
  await sql`insert into clerk_webhook_events (svix_id, type, object_type, object_id, event_timestamp, first_received_at,
    last_received_at, delivery_count, status, last_outcome, error_code, error_message, payload)
    select 'msg_' || lpad(i::text, 10, '0'), (${types})[i % 10 + 1], 'user', 'user_' || lpad((i % 100000)::text, 8, '0'),
      ${at}, ${at}, ${at}, 1, ${status}, ${status},
      case when ${status} = 'failed' then 'hook_failed' end, case when ${status} = 'failed' then 'A hook threw' end, '{}'
    from generate_series(0, ${N - 1}) as i`.execute(store.db);
  await sql`insert into clerk_webhook_attempts (svix_id, attempt, received_at, source, outcome, http_status, duration_ms)
    select 'msg_' || lpad(i::text, 10, '0'), 1, ${at}, 'webhook', ${status}, case when ${status} = 'failed' then 500 else 200 end, 1 + i % 7
    from generate_series(0, ${N - 1}) as i`.execute(store.db);
  await sql`analyze`.execute(store.db);
  console.log(
    `built ${N.toLocaleString()} deliveries (+ attempts) in PostgreSQL in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return store;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
async function time(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm
  const samples: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

/** Every page timed over HTTP on `store`; prints the table. */
async function benchPages(store: ClerkSyncStore, label: string): Promise<number> {
  const dashboard = createDashboard({ store, token: TOKEN });
  const server = createServer((req, res) => dashboard(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const login = await fetch(`${base}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: base, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";", 1)[0] as string;
  async function getPage(path: string): Promise<string> {
    const response = await fetch(`${base}/dashboard${path}`, { headers: { cookie, accept: "text/html" } });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
    return text;
  }
  const selectOne = await time(() => sql`select 1`.execute(store.db));
  // A cursor deep in the list: follow "older" 20 pages.
  let deep = "/deliveries";
  for (let p = 0; p < 20; p++) {
    const next = /rel="next" href="\/dashboard([^"]+)"/.exec(await getPage(deep))?.[1];
    if (!next) break;
    deep = next.replaceAll("&amp;", "&");
  }
  const iso = (ms: number) => encodeURIComponent(new Date(ms).toISOString());
  const cases: [string, string][] = [
    ["no filter (newest page)", "/deliveries"],
    ["status=failed", "/deliveries?status=failed"],
    ["status=ignored (1%)", "/deliveries?status=ignored"],
    ["type=user.deleted", "/deliveries?type=user.deleted"],
    ["status=failed & type=role.created (0)", "/deliveries?status=failed&type=role.created"],
    ["object_id (10 deliveries)", `/deliveries?object_id=${objectOf(4242 % N)}`],
    ["svix_id", `/deliveries?svix_id=${svixOf(Math.floor(N / 8))}`],
    ["since/until (one day, 15 days ago)", `/deliveries?since=${iso(now - 15 * DAY)}&until=${iso(now - 14 * DAY)}`],
    ["status=failed & since (7 days)", `/deliveries?status=failed&since=${iso(now - 7 * DAY)}`],
    ["page 21 (keyset cursor)", deep],
    ["a delivery with its attempts", `/deliveries/${svixOf(Math.floor(N / 2))}`],
    ["health", ""],
  ];
  const rows: [string, number][] = [];
  for (const [name, path] of cases) rows.push([name, await time(() => getPage(path))]);
  console.log(
    `\nDashboard pages, ${N.toLocaleString()} deliveries on ${label}, median of ${REPS} (HTTP GET, rendered):`,
  );
  console.log(`  baseline: SELECT 1 via Kysely ${selectOne.toFixed(3)} ms; budget ${BUDGET_MS} ms\n`);
  console.log(`  ${"page".padEnd(38)} ${"ms".padStart(8)} ${"/ budget".padStart(9)} ${"x SELECT 1".padStart(11)}`);
  for (const [name, ms] of rows) {
    console.log(
      `  ${name.padEnd(38)} ${ms.toFixed(2).padStart(8)} ${(ms / BUDGET_MS).toFixed(3).padStart(9)} ${(ms / selectOne).toFixed(0).padStart(11)}`,
    );
  }
  const worst = Math.max(...rows.map(([, ms]) => ms));
  console.log(
    `\n  worst ${worst.toFixed(2)} ms = ${(worst / BUDGET_MS).toFixed(3)} of the budget: ${worst < BUDGET_MS ? "within" : "OVER"}`,
  );
  server.closeAllConnections();
  server.close();
  return worst;
}

if (!(args.keep && existsSync(args.keep))) await build();
const sqlite = openSqliteStore({ filename: file });
await benchPages(sqlite, "SQLite");
await sqlite.close();
if (!args.keep) rmSync(dir, { recursive: true, force: true });
if (args.postgres) {
  const schema = `clerk_sync_bench_${process.pid}`;
  const pgStore = await buildPostgres(args.postgres, schema);
  try {
    await benchPages(pgStore, "PostgreSQL");
  } finally {
    await sql.raw(`drop schema if exists "${schema}" cascade`).execute(pgStore.db);
    await pgStore.close();
  }
}
