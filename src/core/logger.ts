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
