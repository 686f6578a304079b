import { ClerkSyncError } from "../core/errors.js";
import { openSqliteStore } from "./sqlite-store.js";
import type { ClerkSyncStore } from "./store.js";

/** The default database: a SQLite file next to where the service runs. */
export const DEFAULT_DATABASE_URL = "file:./clerk-sync.db";

/**
 * Opens the store a `DATABASE_URL` names: `file:` / `sqlite:` URLs (or a bare path) are SQLite.
 *
 * @example
 * const store = await openStore("file:./clerk-sync.db");
 */
export async function openStore(url: string = DEFAULT_DATABASE_URL): Promise<ClerkSyncStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "file" || scheme === "sqlite") {
    return openSqliteStore({ filename: sqlitePath(url) });
  }
  if (scheme === "postgres" || scheme === "postgresql" || scheme === "mysql" || scheme === "mariadb") {
    throw new ClerkSyncError(
      "invalid_config",
      `DATABASE_URL scheme "${scheme}:" is not supported by this version yet; use file: (SQLite)`,
    );
  }
  throw new ClerkSyncError(
    "invalid_config",
    `DATABASE_URL has an unknown scheme "${scheme}:" (expected file: or sqlite:)`,
  );
}

/** The file path of a SQLite URL: `file:./x.db`, `file:///abs/x.db`, `sqlite:x.db`, `:memory:`. */
export function sqlitePath(url: string): string {
  if (url === ":memory:" || url === "sqlite::memory:" || url === "file::memory:") return ":memory:";
  if (url.startsWith("file://")) return decodeURIComponent(new URL(url).pathname);
  const path = url.replace(/^(file|sqlite):(\/\/)?/i, "");
  if (path.length === 0) throw new ClerkSyncError("invalid_config", "DATABASE_URL names no SQLite file");
  return path;
}
