/**
 * The SQLite writer thread's entry (see sqlite-writer-thread.ts): its own connection to the
 * database file, applying batches of delivery plans with the same rules and statements as the
 * in-thread path, and answering once each batch is durable.
 */
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { toStoreError } from "../../core/errors.js";
import { configureSqlite, SqliteWriter } from "./sqlite-writer.js";
import {
  WRITER_PROTOCOL,
  type WriterReply,
  type WriterRequest,
  type WriterSettled,
  type WriterThreadData,
} from "./sqlite-writer-thread.js";

const port = parentPort;
if (!port) throw new Error("sqlite-writer-worker runs as a worker thread");
const { filename, lockTimeoutMs, protocol } = workerData as WriterThreadData;
// Started by another version of clerk-sync (a bundled copy): decline, it writes in-thread.
if (protocol !== WRITER_PROTOCOL) process.exit(0);
const sqlite = new Database(filename);
const writer = new SqliteWriter(sqlite, null, { onDisk: configureSqlite(sqlite), lockTimeoutMs });

/** Batches received and not yet answered (committed, flushed, replied). */
const underWay = new Set<Promise<void>>();

async function apply(message: Exclude<WriterRequest, "close">): Promise<void> {
  const settled = await writer.run(message.plans.map((plan) => ({ plan })));
  const results = settled.map((r): WriterSettled => {
    if (r.ok) return r;
    const coded = toStoreError(r.error);
    return { ok: false, code: coded.code, message: coded.message, cause: String(coded.cause ?? coded) };
  });
  const failure = writer.durabilityFailure;
  const unsynced = failure === undefined ? {} : { unsynced: String(failure) };
  const refused = writer.writeFailure;
  const failed = refused === undefined ? {} : { failed: String(refused) };
  port?.postMessage({ id: message.id, results, ...unsynced, ...failed } satisfies WriterReply);
}

port.on("message", async (message: WriterRequest) => {
  if (message === "close") {
    // Every batch sent before "close" is answered before the connection closes.
    await Promise.all(underWay);
    sqlite.close();
    port.close();
    return;
  }
  const done = apply(message);
  underWay.add(done);
  await done;
  underWay.delete(done);
});
port.postMessage("ready" satisfies WriterReply);
