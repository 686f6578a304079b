import { createClerkSync } from "clerk-sync/next";

// One receiver for the webhook route and the pages: the same store, settings and Backend API
// client (CLERK_SECRET_KEY, which a Next.js app with Clerk has already).
export const sync = createClerkSync();
