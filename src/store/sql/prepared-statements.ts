import { ClerkSyncError } from "../../core/errors.js";

/**
 * Takes clerk-sync's `prepared_statements` parameter (`true` / `false`) out of a database URL,
 * answering it (undefined when absent); any other value is an `invalid_config` error.
 */
export function takePreparedStatementsParam(url: URL): boolean | undefined {
  const value = url.searchParams.get("prepared_statements");
  if (value === null) return undefined;
  if (value !== "true" && value !== "false") {
    throw new ClerkSyncError("invalid_config", "DATABASE_URL's prepared_statements must be true or false");
  }
  url.searchParams.delete("prepared_statements");
  return value === "true";
}

/**
 * The texts of the statements clerk-sync sends as prepared statements, each with a name. The
 * Kysely drivers of the pools clerk-sync opens (`PreparingPostgresDriver`,
 * `PreparingMysqlDriver`) send these texts prepared and every other text as Kysely's own
 * drivers do. The server then parses each text once per connection (PostgreSQL, after a few
 * runs, plans it once too): for the set-based batches, whose one statement holds many rows, parsing and planning
 * were about a quarter of PostgreSQL's CPU per batch (docs/performance.md). On MySQL the values
 * also travel in the binary protocol instead of being escaped into the text by the client.
 *
 * A batch's text depends on its shape (tables, kinds of write, rows per table), not on its
 * values, so a busy receiver sends few texts again and again. The registry stops growing at
 * `maxTexts`; later texts are sent unnamed, as before.
 */
export class PreparedTexts {
  readonly #names = new Map<string, string>();

  constructor(private readonly maxTexts = 256) {}

  /** Marks `text` to be sent as a prepared statement, while the registry has room. */
  register(text: string): void {
    if (this.#names.size < this.maxTexts && !this.#names.has(text)) {
      this.#names.set(text, `clerk_sync_${this.#names.size + 1}`);
    }
  }

  /** The statement name of `text`, if it is registered. */
  nameFor(text: string): string | undefined {
    return this.#names.get(text);
  }

  has(text: string): boolean {
    return this.#names.has(text);
  }
}

/** Prepared statements kept on one connection (the server keeps each, with its plan, until it closes). */
export const MAX_PREPARED_PER_CONNECTION = 64;

/**
 * `error`, its stack extended with the frames of the code that awaited the query (as Kysely's
 * own drivers do): a driver's error is raised by the socket's parser, whose stack says nothing
 * of the statement's caller. The error itself (its class, `code`, `errno`) is unchanged.
 */
export function withCallerStack(error: unknown): unknown {
  const caller = new Error().stack;
  if (error instanceof Error && error.stack !== undefined && caller !== undefined) {
    error.stack += caller.slice(caller.indexOf("\n"));
  }
  return error;
}
