/**
 * The hand-written peer for the ingest benchmark: what Clerk's syncing guide leads you to write.
 * node:http, `verifyWebhook` from `@clerk/backend/webhooks` on a Web Request built from the raw
 * body, then one plain better-sqlite3 upsert of the user per event (autocommit). To be fair to
 * clerk-sync, the database is as durable: WAL with `synchronous = FULL`, so every 200 follows an
 * fsync.
 *
 * Usage: CLERK_WEBHOOK_SIGNING_SECRET=whsec_… node --import tsx bench/peer-server.ts <db file> [port]
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook } from "@clerk/backend/webhooks";
import Database from "better-sqlite3";

const file = process.argv[2];
const signingSecret = process.env.CLERK_WEBHOOK_SIGNING_SECRET;
if (!file || !signingSecret) {
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

interface EmailAddress {
  id: string;
  email_address: string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer({ keepAliveTimeout: 65_000 }, async (req, res) => {
  if (req.method !== "POST" || req.url !== "/api/webhooks") {
    req.resume();
    reply(res, 404, { error: "not found" });
    return;
  }
  const raw = await readBody(req);
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  }
  const request = new Request(`http://127.0.0.1${req.url}`, { method: "POST", headers, body: new Uint8Array(raw) });
  let event: Awaited<ReturnType<typeof verifyWebhook>>;
  try {
    event = await verifyWebhook(request, { signingSecret });
  } catch (error) {
    reply(res, 400, { error: String(error) });
    return;
  }
  try {
    if (event.type === "user.created" || event.type === "user.updated") {
      const user = event.data;
      const emails = user.email_addresses as unknown as EmailAddress[];
      const email = emails.find((e) => e.id === user.primary_email_address_id)?.email_address ?? null;
      upsert.run(user.id, user.first_name, user.last_name, email, JSON.stringify(user), user.updated_at);
    }
    reply(res, 200, { ok: true });
  } catch (error) {
    reply(res, 500, { error: String(error) });
  }
});

server.listen(Number(process.argv[3] ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}/api/webhooks` })}\n`);
});

process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  db.close();
  process.exit(0);
});
