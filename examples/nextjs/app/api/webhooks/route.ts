import { createClerkSyncRoute } from "clerk-sync/next";
import { sync } from "../../../lib/clerk-sync";

// Verifies each delivery on its raw body (CLERK_WEBHOOK_SIGNING_SECRET) and applies it exactly
// once to the database named by DATABASE_URL (default: the SQLite file ./clerk-sync.db).
export const { POST } = createClerkSyncRoute(sync);
