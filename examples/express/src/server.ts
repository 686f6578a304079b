import { existsSync } from "node:fs";
import { clerkSyncMiddleware, createClerkSync } from "clerk-sync/express";
import express from "express";
import { renderListing } from "./listing.js";

// .env.local then .env (variables already set win; Node >= 20.12).
for (const file of [".env.local", ".env"]) if (existsSync(file)) process.loadEnvFile(file);

// The webhook receiver: signing secret from CLERK_WEBHOOK_SIGNING_SECRET, database from
// DATABASE_URL (default: the SQLite file ./clerk-sync.db), opened and migrated on first use.
const sync = createClerkSync();

const app = express();

// The webhook route comes before any body parser: the signature is checked on the raw bytes.
app.post("/api/webhooks", clerkSyncMiddleware(sync));

// The rest of the app may parse JSON as usual.
app.use(express.json());

// A page listing the synced users and organizations, read from the same database.
app.get("/", async (_req, res) => {
  res.type("html").send(await renderListing(await sync.store()));
});

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
const server = app.listen(port, host, () => {
  console.log(`clerk-sync Express example listening on http://${host}:${port} (webhooks: POST /api/webhooks)`);
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
