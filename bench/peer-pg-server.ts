/**
 * The hand-written PostgreSQL peer for bench/ingest-network.ts: what Clerk's syncing guide leads
 * you to write with `pg`. node:http + `verifyWebhook` (bench/peer-http.ts), then one plain
 * upsert of the user per event on a `pg.Pool` (autocommit: one transaction, one WAL flush per
 * event at the server's `synchronous_commit`, `on` by default, so every 200 is durable).
 *
 * Usage: CLERK_WEBHOOK_SIGNING_SECRET=whsec_… node --import tsx bench/peer-pg-server.ts <postgres url> [port]
 *   The URL's `?schema=name` puts the users table in that schema (created if missing).
 */
import pg from "pg";
import { servePeer } from "./peer-http.js";

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: CLERK_WEBHOOK_SIGNING_SECRET=whsec_… peer-pg-server.ts <postgres url> [port]\n");
  process.exit(2);
}
const parsed = new URL(url);
const schema = parsed.searchParams.get("schema");
parsed.searchParams.delete("schema");
if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);

// The same pool size as clerk-sync's default (10).
const pool = new pg.Pool({
  connectionString: parsed.toString(),
  max: 10,
  ...(schema ? { options: `-c search_path=${schema}` } : {}),
});
pool.on("error", () => {});

if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
await pool.query(`CREATE TABLE IF NOT EXISTS users (
  id text PRIMARY KEY,
  first_name text,
  last_name text,
  email text,
  data jsonb NOT NULL,
  updated_at bigint NOT NULL
)`);

const UPSERT = `INSERT INTO users (id, first_name, last_name, email, data, updated_at)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
    email = excluded.email, data = excluded.data, updated_at = excluded.updated_at`;

servePeer(
  async (user) => {
    await pool.query(UPSERT, [user.id, user.firstName, user.lastName, user.email, user.data, user.updatedAt]);
  },
  () => pool.end(),
);
