/**
 * An in-app receiver for test/chaos.kill.test.ts: the built package's `createClerkSync` behind
 * node:http, with an `onAny` hook that inserts one row per run into `chaos_hook_runs` (no key: a
 * hook run twice for one delivery shows as two rows). Prints "listening" once it listens.
 *
 * Usage: node hook-receiver.mjs <dist dir with trailing slash> <port> <databaseUrl> <secret>
 */
import { createServer } from "node:http";
import { sql } from "kysely";

const [dist, port, databaseUrl, secret] = process.argv.slice(2);
const { createClerkSync } = await import(`${dist}index.js`);
const { createClerkSyncListener } = await import(`${dist}adapters/node.js`);
const sync = createClerkSync({ databaseUrl, secrets: secret });
sync.onAny(async (_event, { db, svixId }) => {
  await sql`insert into chaos_hook_runs (svix_id) values (${svixId})`.execute(db);
});
createServer(createClerkSyncListener(sync)).listen(Number(port), "127.0.0.1", () => console.log("listening"));
