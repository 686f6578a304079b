import { ClerkSyncError } from "../core/errors.js";
import type { ClerkSyncStore } from "./store.js";

/** The default database: a SQLite file next to where the service runs. */
export const DEFAULT_DATABASE_URL = "file:./clerk-sync.db";

/**
 * Opens the store a `DATABASE_URL` names: `file:` / `sqlite:` URLs (or a bare path) are SQLite,
 * `postgres:` / `postgresql:` PostgreSQL (driver `pg`), `mysql:` / `mariadb:` MySQL or MariaDB
 * (driver `mysql2`). Each dialect's store module (and its driver) is loaded only when a URL names
 * it, so a receiver on PostgreSQL or MySQL never loads better-sqlite3 or its native addon.
 *
 * @example
 * const store = await openStore("file:./clerk-sync.db");
 * const shared = await openStore("postgres://clerk@db.internal:5432/app?schema=clerk");
 */
export async function openStore(url: string = DEFAULT_DATABASE_URL): Promise<ClerkSyncStore> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === "file" || scheme === "sqlite") {
    const filename = sqlitePath(url);
    const { openSqliteStore } = await import("./sqlite/sqlite-store.js");
    return openSqliteStore({ filename });
  }
  if (scheme === "postgres" || scheme === "postgresql") {
    const { openPostgresStore } = await import("./postgres/postgres-store.js");
    return openPostgresStore({ url });
  }
  if (scheme === "mysql" || scheme === "mariadb") {
    const { openMysqlStore } = await import("./mysql/mysql-store.js");
    return openMysqlStore({ url });
  }
  throw new ClerkSyncError(
    "invalid_config",
    `DATABASE_URL has an unknown scheme "${scheme}:" (expected file:, sqlite:, postgres:, postgresql:, mysql: or mariadb:)`,
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
