import { LOG_LEVEL_RANK, type Logger, type LogLevel } from "../core/logger.js";

const SECRET_KEY = /secret|signature|password|authorization|token|api[_-]?key/i;
const SECRET_VALUE = /whsec_[A-Za-z0-9+/=]+|sk_(live|test)_[A-Za-z0-9]+/g;

/** Removes anything secret-looking from a value before it is logged. */
export function redact(value: unknown, key = ""): unknown {
  if (SECRET_KEY.test(key)) return "[redacted]";
  if (typeof value === "string") return value.replace(SECRET_VALUE, "[redacted]");
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(v, k);
    return out;
  }
  return value;
}

/**
 * A JSON-lines logger for the service: one object per line on stdout, secrets redacted by key
 * name and by value shape (`whsec_…`, `sk_…`).
 *
 * @example
 * const log = createJsonLogger("info"); log.info("listening", { port: 3000 });
 */
export function createJsonLogger(
  level: LogLevel = "info",
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const min = LOG_LEVEL_RANK[level];
  const emit = (lvl: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVEL_RANK[lvl] < min) return;
    const entry = {
      time: new Date().toISOString(),
      level: lvl,
      msg: redact(message),
      ...(fields ? (redact(fields) as object) : {}),
    };
    write(`${JSON.stringify(entry)}\n`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
