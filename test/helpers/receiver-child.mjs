/**
 * A child process for test/dialect-loading.e2e.test.ts: imports the built package's `entry`
 * (`express`, `next` or `root`) as an app would, handles one signed user.created delivery into
 * `databaseUrl`, and prints one JSON line: the reply and which SQLite code the process loaded.
 *
 * Usage: node receiver-child.mjs <entry> <dist dir with trailing slash> <databaseUrl> <secret>
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const [entry, dist, databaseUrl, secret] = process.argv.slice(2);
const mod = await import(dist + (entry === "root" ? "index.js" : `adapters/${entry}.js`));
const { freshExample, signDelivery } = await import(`${dist}testing/index.js`);
const sync = mod.createClerkSync({ databaseUrl, secrets: secret });
const event = freshExample("user.created");
const { headers, body } = signDelivery({ secret, payload: JSON.stringify(event) });

let response;
if (entry === "express") {
  const { default: express } = await import("express");
  const app = express();
  app.post("/api/webhooks", mod.clerkSyncMiddleware(sync));
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  response = await fetch(`http://127.0.0.1:${server.address().port}/api/webhooks`, { method: "POST", headers, body });
  server.close();
} else {
  const post = entry === "next" ? mod.createClerkSyncRoute(sync).POST : (request) => sync.fetch(request);
  response = await post(new Request("http://localhost/api/webhooks", { method: "POST", headers, body }));
}
const reply = await response.json();

const sqliteModules = Object.keys(createRequire(import.meta.url).cache).filter((path) =>
  path.includes("better-sqlite3"),
);
const addonMapped = readFileSync("/proc/self/maps", "utf8").includes("better_sqlite3.node");
await sync.close();
console.log(
  JSON.stringify({ status: response.status, outcome: reply.status, userId: event.data.id, sqliteModules, addonMapped }),
);
