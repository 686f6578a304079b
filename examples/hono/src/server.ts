import { existsSync } from "node:fs";
import { serve } from "@hono/node-server";
import { clerkSyncHono, createClerkSync } from "clerk-sync/hono";
import { Hono } from "hono";
import { renderListing } from "./listing.js";

// .env.local then .env (variables already set win; Node >= 20.12).
for (const file of [".env.local", ".env"]) if (existsSync(file)) process.loadEnvFile(file);

// The webhook receiver: signing secret from CLERK_WEBHOOK_SIGNING_SECRET, database from
// DATABASE_URL (default: the SQLite file ./clerk-sync.db), opened and migrated on first use.
const sync = createClerkSync();

const app = new Hono();

// The handler reads the untouched request body (c.req.raw): no middleware on this route may read
// it first (c.req.json(), a validator), or the delivery is refused with body_already_parsed.
// app.all: other methods get clerk-sync's own 405 (with Allow: POST).
app.all("/api/webhooks", clerkSyncHono(sync));

// A page listing the synced users and organizations, read from the same database.
app.get("/", async (c) => c.html(await renderListing(await sync.store())));

const port = Number(process.env.PORT ?? 3000);
const hostname = process.env.HOST ?? "127.0.0.1";
const server = serve({ fetch: app.fetch, port, hostname }, () => {
  console.log(`clerk-sync Hono example listening on http://${hostname}:${port} (webhooks: POST /api/webhooks)`);
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
  });
}
