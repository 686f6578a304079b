/**
 * The hand-written MySQL / MariaDB peer for bench/ingest-network.ts: what Clerk's syncing guide
 * leads you to write with `mysql2`. node:http + `verifyWebhook` (bench/peer-http.ts), then one
 * plain upsert of the user per event (`ON DUPLICATE KEY UPDATE`) on a `mysql2` pool (autocommit:
 * one InnoDB transaction per event, its redo log flushed at commit with the server's
 * `innodb_flush_log_at_trx_commit`, 1 by default, so every 200 is durable).
 *
 * Usage: CLERK_WEBHOOK_SIGNING_SECRET=whsec_… node --import tsx bench/peer-mysql-server.ts <mysql url> [port]
 *   The URL's path names the database; it must exist.
 */
import mysql from "mysql2/promise";
import { servePeer } from "./peer-http.js";

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: CLERK_WEBHOOK_SIGNING_SECRET=whsec_… peer-mysql-server.ts <mysql url> [port]\n");
  process.exit(2);
}

// The same pool size as clerk-sync's default (10).
const pool = mysql.createPool({ uri: url.replace(/^mariadb:/, "mysql:"), connectionLimit: 10 });

await pool.query(`CREATE TABLE IF NOT EXISTS users (
  id varchar(255) NOT NULL PRIMARY KEY,
  first_name varchar(255),
  last_name varchar(255),
  email varchar(255),
  data json NOT NULL,
  updated_at bigint NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);

const UPSERT = `INSERT INTO users (id, first_name, last_name, email, data, updated_at)
  VALUES (?, ?, ?, ?, ?, ?)
  ON DUPLICATE KEY UPDATE first_name = VALUES(first_name), last_name = VALUES(last_name),
    email = VALUES(email), data = VALUES(data), updated_at = VALUES(updated_at)`;

servePeer(
  async (user) => {
    await pool.execute(UPSERT, [user.id, user.firstName, user.lastName, user.email, user.data, user.updatedAt]);
  },
  () => pool.end(),
);
