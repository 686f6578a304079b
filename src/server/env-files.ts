import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";

/** The files read for configuration, later ones overriding earlier ones (as Next.js does). */
export const ENV_FILES = [".env", ".env.local"] as const;

/**
 * Reads `.env` then `.env.local` from `dir`; variables already in `env` win over both.
 *
 * @example
 * const env = loadEnvFiles(process.cwd(), process.env);
 */
export function loadEnvFiles(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = {};
  for (const name of ENV_FILES) {
    const path = join(dir, name);
    if (existsSync(path)) Object.assign(merged, parseEnv(readFileSync(path, "utf8")));
  }
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;
  return merged;
}

/** Creates a fresh signing secret in Clerk's format. */
export function generateSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/**
 * Creates a development signing secret and appends it to `.env.local`, so that the service
 * and `clerk-sync send` agree on it across restarts. The file holds a secret from then on: an
 * existing one that others may read is made readable by its owner only (0600); `tightened`
 * says so, for the caller to tell the user.
 */
export function saveDevelopmentSecret(dir: string): { secret: string; tightened: boolean } {
  const secret = generateSecret();
  const path = join(dir, ".env.local");
  const exists = existsSync(path);
  const prefix = exists && !readFileSync(path, "utf8").endsWith("\n") ? "\n" : "";
  appendFileSync(
    path,
    `${prefix}# Development signing secret created by clerk-sync. Use Clerk's real one (Dashboard > Webhooks) in production.\nCLERK_WEBHOOK_SIGNING_SECRET=${secret}\n`,
    { mode: 0o600 },
  );
  // appendFileSync's mode applies only to a file it creates.
  const tightened = exists && (statSync(path).mode & 0o077) !== 0;
  if (tightened) chmodSync(path, 0o600);
  return { secret, tightened };
}

/**
 * Creates a development dashboard token and appends it to `.env.local` as
 * `CLERK_SYNC_DASHBOARD_TOKEN`, as {@link saveDevelopmentSecret} does for the signing secret:
 * `serve --dashboard` and `clerk-sync dashboard` then agree on it across restarts.
 */
export function saveDevelopmentDashboardToken(dir: string): { token: string; tightened: boolean } {
  const token = randomBytes(24).toString("base64url");
  const path = join(dir, ".env.local");
  const exists = existsSync(path);
  const prefix = exists && !readFileSync(path, "utf8").endsWith("\n") ? "\n" : "";
  appendFileSync(
    path,
    `${prefix}# Development dashboard token created by clerk-sync. Set your own in production.\nCLERK_SYNC_DASHBOARD_TOKEN=${token}\n`,
    { mode: 0o600 },
  );
  const tightened = exists && (statSync(path).mode & 0o077) !== 0;
  if (tightened) chmodSync(path, 0o600);
  return { token, tightened };
}
