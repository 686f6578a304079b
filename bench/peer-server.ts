/**
 * The hand-written peer for the ingest benchmark: what Clerk's syncing guide leads you to write.
 * node:http, `verifyWebhook` from `@clerk/backend/webhooks` on a Web Request built from the raw
 * body (bench/peer-http.ts), then one plain better-sqlite3 upsert of the user per event
 * (autocommit). To be fair to clerk-sync, the database is as durable: WAL with
 * `synchronous = FULL`, so every 200 follows an fsync.
 *
 * Usage: CLERK_WEBHOOK_SIGNING_SECRET=whsec_… node --import tsx bench/peer-server.ts <db file> [port]
 */
import Database from "better-sqlite3";
import { servePeer } from "./peer-http.js";

const file = process.argv[2];
if (!file || !process.env.CLERK_WEBHOOK_SIGNING_SECRET) {
  process.stderr.write("usage: CLERK_WEBHOOK_SIGNING_SECRET=whsec_… peer-server.ts <db file> [port]\n");
  process.exit(2);
}

const db = new Database(file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec(`CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY,
  first_name TEXT,
  last_name TEXT,
  email TEXT,
  data TEXT NOT NULL,
  updated_at INTEGER NOT NULL
)`);
const upsert = db.prepare(`INSERT INTO users (id, first_name, last_name, email, data, updated_at)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
    email = excluded.email, data = excluded.data, updated_at = excluded.updated_at`);

servePeer(
  async (user) => {
    upsert.run(user.id, user.firstName, user.lastName, user.email, user.data, user.updatedAt);
  },
  async () => {
    db.close();
  },
);
