/** Log levels, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Structured logging: a message and flat fields. Implementations must never print secrets. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

/** A logger that drops everything; the default for library use. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Each level's rank: a logger at level L emits the levels ranked L or higher. */
export const LOG_LEVEL_RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LOG_LEVEL_RANK, value);
}

/**
 * `logger` without the levels below `level`.
 *
 * @example
 * const quiet = filterLogger(myLogger, "warn"); // debug and info are dropped
 */
export function filterLogger(logger: Logger, level: LogLevel): Logger {
  const min = LOG_LEVEL_RANK[level];
  const keep = (lvl: LogLevel): Logger[LogLevel] =>
    LOG_LEVEL_RANK[lvl] >= min ? (message, fields) => logger[lvl](message, fields) : noop;
  return { debug: keep("debug"), info: keep("info"), warn: keep("warn"), error: keep("error") };
}

/** Secret-looking values (`whsec_…`, `sk_live_…`, `sk_test_…`), replaced before a line is printed. */
const SECRET_VALUE = /whsec_[A-Za-z0-9+/=]+|sk_(live|test)_[A-Za-z0-9]+/g;

/**
 * The in-app receivers' default logger: warnings and errors (refused and failed deliveries, a
 * missing secret) as one line each on the console (`console.warn` / `console.error`, so that the
 * platform's log shows them), `[clerk-sync] message {"field":…}`; secret-looking values are
 * replaced. Below `level` (default `warn`) nothing is printed.
 *
 * @example
 * consoleLogger().warn("delivery rejected", { code: "invalid_signature" });
 * // [clerk-sync] delivery rejected {"code":"invalid_signature"}
 */
export function consoleLogger(level: LogLevel = "warn"): Logger {
  const line = (message: string, fields?: Record<string, unknown>): string =>
    `[clerk-sync] ${message}${fields ? ` ${JSON.stringify(fields)}` : ""}`.replace(SECRET_VALUE, "[redacted]");
  return filterLogger(
    {
      debug: (message, fields) => console.debug(line(message, fields)),
      info: (message, fields) => console.info(line(message, fields)),
      warn: (message, fields) => console.warn(line(message, fields)),
      error: (message, fields) => console.error(line(message, fields)),
    },
    level,
  );
}
