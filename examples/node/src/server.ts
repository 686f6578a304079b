import { existsSync } from "node:fs";
import { createServer } from "node:http";
import { createClerkSync, createClerkSyncListener } from "clerk-sync";
import { renderListing } from "./listing.js";

// .env.local then .env (variables already set win; Node >= 20.12).
for (const file of [".env.local", ".env"]) if (existsSync(file)) process.loadEnvFile(file);

// The webhook receiver: signing secret from CLERK_WEBHOOK_SIGNING_SECRET, database from
// DATABASE_URL (default: the SQLite file ./clerk-sync.db), opened and migrated on first use.
const sync = createClerkSync();
// A node:http listener around it: reads the raw body itself, answers 405 to other methods.
const webhooks = createClerkSyncListener(sync);

const server = createServer((req, res) => {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (path === "/api/webhooks") {
    void webhooks(req, res);
    return;
  }
  if (path === "/" && (req.method === "GET" || req.method === "HEAD")) {
    // A page listing the synced users and organizations, read from the same database.
    sync
      .store()
      .then(renderListing)
      .then(
        (html) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html),
        (error: unknown) => {
          console.error(error);
          res.writeHead(500, { "content-type": "text/plain" }).end("Internal Server Error");
        },
      );
    return;
  }
  res.writeHead(404, { "content-type": "text/plain" }).end("Not Found");
});

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => {
  console.log(`clerk-sync node:http example listening on http://${host}:${port} (webhooks: POST /api/webhooks)`);
});

// Stop taking requests, let deliveries in flight finish, close the database.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    server.close(() => {
      sync.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    server.closeIdleConnections();
  });
}
