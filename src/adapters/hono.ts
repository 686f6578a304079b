/**
 * Hono: its request is a Web `Request` (`c.req.raw`), so the handler is the receiver's
 * `fetch`. Nothing from `hono` is imported; the context is typed by the one field used.
 */
import { type ClerkSync, type ClerkSyncOptions, resolveClerkSync } from "../receiver/create-clerk-sync.js";

/** Re-exported so that hooks need no second import: `createClerkSync().on(…)`. */
export { type ClerkSync, type ClerkSyncOptions, createClerkSync } from "../receiver/create-clerk-sync.js";

/**
 * The part of Hono's `Context` the handler reads.
 *
 * @example
 * const reply = await clerkSyncHono()({ req: { raw: request } } satisfies HonoContextLike);
 */
export interface HonoContextLike {
  req: { raw: Request };
}

/**
 * A Hono handler.
 *
 * @example
 * const webhooks: ClerkSyncHonoHandler = clerkSyncHono();
 * app.post("/api/webhooks", webhooks);
 */
export type ClerkSyncHonoHandler = (c: HonoContextLike) => Promise<Response>;

/**
 * The Hono handler that receives Clerk's webhooks into your database, for Hono on Node.js
 * (`@hono/node-server`): clerk-sync needs Node's crypto and database drivers. Every option is
 * optional: the signing secret comes from `CLERK_WEBHOOK_SIGNING_SECRET`, the database from
 * `DATABASE_URL` (default: the SQLite file `./clerk-sync.db`). Pass a receiver from
 * `createClerkSync()` to add hooks. It reads the untouched `c.req.raw`; if a middleware already
 * read the body (`c.req.json()`, a validator), it refuses with `body_already_parsed` instead of
 * using Hono's re-serialized copy.
 *
 * @example
 * const app = new Hono();
 * app.post("/api/webhooks", clerkSyncHono());
 * serve({ fetch: app.fetch, port: 3000 });
 */
export function clerkSyncHono(options?: ClerkSyncOptions | ClerkSync): ClerkSyncHonoHandler {
  const sync = resolveClerkSync(options);
  return (c) => sync.fetch(c.req.raw);
}
