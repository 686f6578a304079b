/**
 * WAL bytes per delivery: the same unique `user.created` plans applied through the SQLite writer
 * (`SqliteWriter`, the path the service's writer thread runs) in batches of several sizes, on
 * databases of several page sizes, with nothing checkpointed, so the WAL's size is what the
 * commits wrote. No HTTP and no fsync: it isolates what each commit must flush, the cost that
 * limits `npm run bench` on this machine (docs/performance.md). Ratios against 4 KiB pages and
 * batches of 9 (what 32 connections give the service) measured in the same run.
 *
 * Usage: node --import tsx bench/wal-bytes.ts [--events 3000]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { normalizeTimestamp } from "../src/core/events.js";
import { mapEvent } from "../src/core/mappers.js";
import type { DeliveryPlan } from "../src/core/store-contract.js";
import { parseEvent } from "../src/core/validate.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { SqliteWriter } from "../src/store/sqlite/sqlite-writer.js";
import { makeEvents } from "./events.js";

const { values: args } = parseArgs({ options: { events: { type: "string", default: "3000" } } });
const EVENTS = Number(args.events);
const PAGE_SIZES = [4096, 2048, 1024];
const BATCHES = [1, 9, 16, 32];

function plans(count: number): DeliveryPlan[] {
  return makeEvents(count).map((e) => {
    const parsed = parseEvent(e.body);
    if (!parsed.known) throw new Error("user.created is a known type");
    const { event } = parsed;
    return {
      record: {
        svixId: e.svixId,
        type: event.type,
        objectType: "user",
        objectId: e.userId,
        eventTimestamp: normalizeTimestamp(event.timestamp),
        receivedAt: Date.now(),
        payload: e.body,
      },
      mutations: mapEvent(event),
      hard: false,
    };
  });
}

/** WAL bytes per delivery and writer time per delivery (µs) for one page size and batch size. */
async function measure(dir: string, pageSize: number, batch: number, all: readonly DeliveryPlan[]) {
  const file = join(dir, `p${pageSize}-b${batch}.db`);
  const create = new Database(file);
  create.pragma(`page_size = ${pageSize}`);
  create.pragma("journal_mode = WAL");
  create.close();
  const store = openSqliteStore({ filename: file, writerThread: false });
  await store.migrate();
  await store.close();
  const sqlite = new Database(file);
  sqlite.pragma("synchronous = OFF");
  sqlite.pragma("wal_autocheckpoint = 0");
  sqlite.pragma("wal_checkpoint(TRUNCATE)");
  const writer = new SqliteWriter(sqlite, null, { onDisk: false, lockTimeoutMs: 1000 });
  const started = performance.now();
  for (let i = 0; i < all.length; i += batch) {
    await writer.run(all.slice(i, i + batch).map((plan) => ({ plan })));
  }
  const micros = ((performance.now() - started) * 1000) / all.length;
  const walBytes = statSync(`${file}-wal`).size / all.length;
  sqlite.close();
  return { walKiB: walBytes / 1024, micros };
}

const dir = mkdtempSync(join(tmpdir(), "clerk-sync-bench-wal-"));
try {
  const all = plans(EVENTS);
  const results = new Map<string, { walKiB: number; micros: number }>();
  for (const pageSize of PAGE_SIZES) {
    for (const batch of BATCHES) results.set(`${pageSize}/${batch}`, await measure(dir, pageSize, batch, all));
  }
  const base = results.get("4096/9") as { walKiB: number; micros: number };
  console.log(`WAL written per user.created delivery, ${EVENTS} deliveries per cell (vs 4 KiB pages, batches of 9)`);
  console.log(`page size  ${BATCHES.map((b) => `batch ${b}`.padStart(22)).join("")}`);
  for (const pageSize of PAGE_SIZES) {
    const cells = BATCHES.map((batch) => {
      const r = results.get(`${pageSize}/${batch}`) as { walKiB: number; micros: number };
      return `${r.walKiB.toFixed(1)} KiB ${(r.walKiB / base.walKiB).toFixed(2)}×`.padStart(22);
    });
    console.log(`${String(pageSize).padEnd(9)}  ${cells.join("")}`);
  }
  console.log(`writer time (no fsync) at 4 KiB / batch 9: ${base.micros.toFixed(0)} µs per delivery`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
