import { ClerkSyncError } from "../core/errors.js";
import { saveDevelopmentDashboardToken } from "../server/env-files.js";
import type { CommandContext } from "./context.js";

/**
 * The dashboard's token: `CLERK_SYNC_DASHBOARD_TOKEN` (environment or `.env` files, already in
 * `configured`); with none, in development a new one saved to `.env.local` and printed on stderr
 * (as `serve` does for the signing secret); with none under `NODE_ENV=production`, a coded refusal.
 */
export function dashboardTokenFor(
  ctx: CommandContext,
  env: Readonly<Record<string, string | undefined>>,
  configured: string | undefined,
): string {
  if (configured !== undefined) return configured;
  if (env.NODE_ENV === "production") {
    throw new ClerkSyncError(
      "invalid_config",
      "No dashboard token, and NODE_ENV=production: set CLERK_SYNC_DASHBOARD_TOKEN (16 characters or more, e.g. openssl rand -base64 24)",
    );
  }
  const { token, tightened } = saveDevelopmentDashboardToken(ctx.cwd);
  ctx.stderr(
    `No dashboard token was configured, so clerk-sync created one and saved it to .env.local as CLERK_SYNC_DASHBOARD_TOKEN:\n\n  ${token}\n\n` +
      "Sign in to the dashboard with it. Set your own CLERK_SYNC_DASHBOARD_TOKEN in production.\n\n" +
      (tightened ? ".env.local was readable by others: it is now readable by you only (0600).\n\n" : ""),
  );
  return token;
}
