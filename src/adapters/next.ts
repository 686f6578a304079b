/**
 * Next.js App Router: a Route Handler is already `Request → Response`, so the route is the
 * receiver's `fetch`. Nothing from `next` is imported.
 */
import { type ClerkSync, type ClerkSyncOptions, resolveClerkSync } from "../receiver/create-clerk-sync.js";

/** Re-exported so that hooks need no second import: `createClerkSync().on(…)`. */
export { type ClerkSync, type ClerkSyncOptions, createClerkSync } from "../receiver/create-clerk-sync.js";

/**
 * The exports of a webhook route (`app/api/webhooks/route.ts`).
 *
 * @example
 * export const { POST }: ClerkSyncRoute = createClerkSyncRoute();
 */
export interface ClerkSyncRoute {
  /** Verifies, applies and answers one delivery (405 for other methods, should Next pass them). */
  POST(request: Request): Promise<Response>;
}

/**
 * The Route Handler that receives Clerk's webhooks into your database. Every option is
 * optional: the signing secret comes from `CLERK_WEBHOOK_SIGNING_SECRET`, the database from
 * `DATABASE_URL` (default: the SQLite file `./clerk-sync.db`), both read on the first delivery,
 * so `next build` touches neither. Pass a receiver from `createClerkSync()` to add hooks.
 *
 * Route Handlers run on the Node.js runtime by default, which the database drivers need, so no
 * `runtime` export is needed. Only `POST` is returned: Next reads segment config (`runtime`, …)
 * from literal `export const` lines only, never from a destructured result.
 *
 * @example
 * // app/api/webhooks/route.ts
 * export const { POST } = createClerkSyncRoute();
 *
 * @example
 * // with a hook, run in the same transaction as the sync
 * const sync = createClerkSync().on("user.created", async (event, { db }) => { … });
 * export const { POST } = createClerkSyncRoute(sync);
 */
export function createClerkSyncRoute(options?: ClerkSyncOptions | ClerkSync): ClerkSyncRoute {
  const sync = resolveClerkSync(options);
  return { POST: (request) => sync.fetch(request) };
}
