import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type ConfigFlags, resolveConfig } from "../server/config.js";
import { loadEnvFiles } from "../server/env-files.js";
import { openStore, sqlitePath } from "../store/open.js";
import type { ClerkSyncStore } from "../store/store.js";

/** What a command gets: its arguments and the process edges, injectable for tests. */
export interface CommandContext {
  args: string[];
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stderr is a terminal (progress bars redraw in place only then). */
  stderrIsTTY?: boolean;
}

/** A CLI command: `run` returns the exit code and never exits the process itself. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(ctx: CommandContext): Promise<number>;
}

/** Options shared by commands that open the database or the service's configuration. */
export const COMMON_OPTIONS = {
  "database-url": { type: "string" },
  secret: { type: "string", multiple: true },
  port: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export function commonFlags(values: { "database-url"?: string; secret?: string[]; port?: string }): ConfigFlags {
  const flags: ConfigFlags = {};
  if (values["database-url"] !== undefined) flags.databaseUrl = values["database-url"];
  if (values.secret !== undefined) flags.secret = values.secret;
  if (values.port !== undefined) flags.port = values.port;
  return flags;
}

/**
 * Opens the store the configuration names (flags, environment, `.env` files), runs `work`,
 * and closes the store whatever happens. With `ifMissing`, a SQLite file that does not exist is
 * not created (opening SQLite creates the file): `ifMissing(path)` answers instead, for commands
 * that only read.
 */
export async function withConfiguredStore<T>(
  ctx: CommandContext,
  flags: ConfigFlags,
  work: (store: ClerkSyncStore) => Promise<T>,
  ifMissing?: (path: string) => T,
): Promise<T> {
  const config = resolveConfig(loadEnvFiles(ctx.cwd, ctx.env), flags);
  if (ifMissing) {
    const path = missingSqliteFile(config.databaseUrl, ctx.cwd);
    if (path !== undefined) return ifMissing(path);
  }
  const store = await openStore(config.databaseUrl);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** The path of a SQLite database URL whose file does not exist yet (relative to `cwd`); else undefined. */
export function missingSqliteFile(databaseUrl: string, cwd: string): string | undefined {
  if (!/^(file:|sqlite:)/i.test(databaseUrl) && /^[a-z][a-z0-9+.-]*:/i.test(databaseUrl)) return undefined;
  const path = sqlitePath(databaseUrl);
  if (path === ":memory:") return undefined;
  return existsSync(resolve(cwd, path)) ? undefined : path;
}
