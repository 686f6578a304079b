/**
 * What a delivery costs on PostgreSQL, without HTTP: the same unique `user.created` deliveries
 * (bench/events.ts) through the real store (`openPostgresStore` + `SyncEngine`, prepared
 * statements on, as `clerk-sync serve` runs them), in two parts.
 *
 * 1. Batches of fixed sizes, one after another: wall time per batch, and the CPU the database's
 *    backends spent per batch and per delivery. A line through the sizes splits it into a cost
 *    per commit and a cost per delivery; ratios against batches of 1, measured in the same run.
 * 2. 32 deliveries at once, closed loop, in process: the webhook handler alone (verification and
 *    parsing, no database), then handler + store. Their events/s and this process's CPU per
 *    delivery bound what the HTTP service (`npm run bench:network`) can reach on this machine:
 *    the service adds node:http and the load client on the same two cores.
 *
 * Usage: node --import tsx bench/network-costs.ts [--events 6000] [--postgres-url postgres://…/test]
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { SyncEngine } from "../src/core/engine.js";
import { createWebhookHandler, type WebhookHandler } from "../src/core/handler.js";
import { parseEvent } from "../src/core/validate.js";
import { createVerifier } from "../src/core/verify.js";
import { openPostgresStore } from "../src/store/postgres/postgres-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { signDelivery } from "../src/testing/sign.js";
import { type BenchEvent, makeEvents } from "./events.js";
import { processCpuMs, runMain } from "./processes.js";
import { fmt } from "./report.js";

const { values: args } = parseArgs({
  options: {
    events: { type: "string", default: "6000" },
    "postgres-url": {
      type: "string",
      default: process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    },
  },
});
const EVENTS = Number(args.events);
const URL_BASE = args["postgres-url"] as string;
const SIZES = [1, 4, 10, 16, 32];
const CONCURRENCY = 32;
const WARMUP_ROUNDS = 20;
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

const admin = new pg.Pool({ connectionString: URL_BASE, max: 1 });

/** A store on a schema of its own (dropped by `dropSchema`). */
async function freshStore(schema: string): Promise<ClerkSyncStore> {
  const url = new URL(URL_BASE);
  url.searchParams.set("schema", schema);
  const store = await openPostgresStore({ url: url.toString() });
  await store.migrate();
  return store;
}

const dropSchema = (schema: string) => admin.query(`drop schema if exists "${schema}" cascade`);

/** CPU ms so far of the server's client backends other than the admin connection's (Linux /proc). */
async function backendsCpuMs(): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>(
    "select pid from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
  );
  // NaN for a backend not on this machine (or gone): counted as 0.
  return rows.reduce((ms, { pid }) => ms + (processCpuMs(pid) || 0), 0);
}

const deliver = (engine: Pick<SyncEngine, "process">, e: BenchEvent) =>
  engine.process({ svixId: e.svixId, rawBody: e.body, parsed: parseEvent(e.body) });

/** Part 1: `rounds` batches of `size`, each submitted at once and awaited before the next. */
async function fixedBatches(size: number, rounds: number) {
  const schema = `bench_costs_b${size}_${process.pid}`;
  const store = await freshStore(schema);
  try {
    const engine = new SyncEngine(store);
    const events = makeEvents(size * (rounds + WARMUP_ROUNDS));
    const batch = (r: number) => Promise.all(events.slice(r * size, (r + 1) * size).map((e) => deliver(engine, e)));
    // Warm-up rounds first: connections open, statements prepared.
    for (let r = 0; r < WARMUP_ROUNDS; r++) await batch(r);
    const cpu0 = await backendsCpuMs();
    const started = performance.now();
    for (let r = WARMUP_ROUNDS; r < rounds + WARMUP_ROUNDS; r++) await batch(r);
    const wallMs = (performance.now() - started) / rounds;
    const dbMsPerBatch = ((await backendsCpuMs()) - cpu0) / rounds;
    return { size, wallMs, dbMsPerBatch, dbMsPerDelivery: dbMsPerBatch / size };
  } finally {
    await store.close();
    await dropSchema(schema);
  }
}

/** Part 2: `events` deliveries, {@link CONCURRENCY} at a time, through `handler`. */
async function closedLoop(handler: WebhookHandler, events: readonly BenchEvent[]) {
  const inputs = events.map((e) => {
    const { headers } = signDelivery({ secret: SECRET, payload: e.body, id: e.svixId });
    return { method: "POST", headers, body: Buffer.from(e.body) };
  });
  let next = 0;
  const drive = (end: number) =>
    Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < end) {
          const reply = await handler.handle(inputs[next++] as (typeof inputs)[number]);
          if (reply.status !== 200) throw new Error(`answered ${reply.status}: ${JSON.stringify(reply.body)}`);
        }
      }),
    );
  const warm = Math.min(1000, Math.floor(inputs.length / 5));
  await drive(warm);
  const cpu0 = process.cpuUsage();
  const db0 = await backendsCpuMs();
  const started = performance.now();
  await drive(inputs.length);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const n = inputs.length - warm;
  return {
    eventsPerSecond: (n * 1000) / ms,
    processMsPerDelivery: (cpu.user + cpu.system) / 1000 / n,
    dbMsPerDelivery: ((await backendsCpuMs()) - db0) / n,
  };
}

async function main(): Promise<void> {
  const { rows } = await admin.query<{ v: string }>("select current_setting('server_version') as v");
  console.log(
    `PostgreSQL ${rows[0]?.v}: unique user.created deliveries through openPostgresStore + SyncEngine, no HTTP`,
  );

  console.log("\n1. batches of fixed size, one after another (database CPU: its client backends, from /proc)");
  const rounds = (size: number) => Math.max(100, Math.round(EVENTS / size));
  const results = [];
  for (const size of SIZES) {
    const r = await fixedBatches(size, rounds(size));
    results.push(r);
    console.log(
      `  batch ${String(size).padStart(2)}: ${r.wallMs.toFixed(2)} ms/batch wall, database ${r.dbMsPerBatch.toFixed(2)} ms CPU/batch = ${r.dbMsPerDelivery.toFixed(3)} ms/delivery`,
    );
  }
  const first = results[0] as (typeof results)[number];
  const last = results[results.length - 1] as (typeof results)[number];
  const perDelivery = (last.dbMsPerBatch - first.dbMsPerBatch) / (last.size - first.size);
  const perCommit = first.dbMsPerBatch - perDelivery * first.size;
  console.log(
    `  database CPU ≈ ${perCommit.toFixed(2)} ms per commit + ${perDelivery.toFixed(3)} ms per delivery; ` +
      `per delivery, batch ${last.size} / batch 1 = ${(last.dbMsPerDelivery / first.dbMsPerDelivery).toFixed(2)}×`,
  );

  console.log(`\n2. ${fmt(EVENTS)} deliveries, ${CONCURRENCY} at a time, in this process`);
  const verify = createVerifier({ secrets: SECRET });
  const noStore = {
    process: async () => ({ outcome: "applied" as const, type: "user.created", objectId: null }),
  };
  const alone = await closedLoop(createWebhookHandler({ verify, engine: noStore }), makeEvents(EVENTS));
  console.log(
    `  handler alone (verify + parse):  ${fmt(alone.eventsPerSecond).padStart(7)} ev/s, process ${alone.processMsPerDelivery.toFixed(3)} ms CPU/delivery`,
  );
  const schema = `bench_costs_loop_${process.pid}`;
  const store = await freshStore(schema);
  try {
    const full = await closedLoop(createWebhookHandler({ verify, engine: new SyncEngine(store) }), makeEvents(EVENTS));
    console.log(
      `  handler + PostgreSQL store:      ${fmt(full.eventsPerSecond).padStart(7)} ev/s, process ${full.processMsPerDelivery.toFixed(3)} ms CPU/delivery, database ${full.dbMsPerDelivery.toFixed(3)} ms/delivery`,
    );
    console.log(
      `  with the store / alone: ${(full.eventsPerSecond / alone.eventsPerSecond).toFixed(2)}× the events/s, ` +
        `${(full.processMsPerDelivery / alone.processMsPerDelivery).toFixed(2)}× the process CPU per delivery`,
    );
  } finally {
    await store.close();
    await dropSchema(schema);
  }
  await admin.end();
}

runMain(main, () => admin.end().catch(() => undefined));
