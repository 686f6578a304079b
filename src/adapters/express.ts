/**
 * Express (5, and 4): the request is a node:http request, so this is the node:http listener,
 * which reads the raw body itself or takes the Buffer `express.raw()` leaves in `req.body`.
 * Nothing from `express` is imported, not even its types.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ClerkSync, type ClerkSyncOptions, resolveClerkSync } from "../receiver/create-clerk-sync.js";

/** Re-exported so that hooks need no second import: `createClerkSync().on(…)`. */
export { type ClerkSync, type ClerkSyncOptions, createClerkSync } from "../receiver/create-clerk-sync.js";

import { toNodeListener } from "./node.js";

/**
 * An Express route handler (any `(req, res)` of node:http).
 *
 * @example
 * const webhooks: ClerkSyncMiddleware = clerkSyncMiddleware();
 * app.post("/api/webhooks", webhooks);
 */
export type ClerkSyncMiddleware = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * The Express handler that receives Clerk's webhooks into your database. Every option is
 * optional: the signing secret comes from `CLERK_WEBHOOK_SIGNING_SECRET`, the database from
 * `DATABASE_URL` (default: the SQLite file `./clerk-sync.db`). Pass a receiver from
 * `createClerkSync()` to add hooks.
 *
 * Mount it before `express.json()`: a body already parsed cannot be verified (the raw bytes are
 * gone), so it is refused with `body_already_parsed` (500), never re-serialized. Behind
 * `express.raw()` it uses the raw Buffer.
 *
 * @example
 * const app = express();
 * app.post("/api/webhooks", clerkSyncMiddleware()); // before express.json()
 * app.use(express.json());
 *
 * @example
 * // behind a raw body parser, with a hook
 * const sync = createClerkSync().on("user.created", async (event, { db }) => { … });
 * app.post("/api/webhooks", express.raw({ type: "application/json", limit: "1mb" }), clerkSyncMiddleware(sync));
 */
export function clerkSyncMiddleware(options?: ClerkSyncOptions | ClerkSync): ClerkSyncMiddleware {
  return toNodeListener(resolveClerkSync(options));
}
