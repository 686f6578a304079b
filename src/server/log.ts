import { createRequire } from "node:module";
import type { DestinationStream, default as Pino } from "pino";
import { LOG_LEVEL_RANK, type Logger, type LogLevel } from "../core/logger.js";

const SECRET_KEY = /secret|signature|password|authorization|cookie|token|api[_-]?key|credential/i;
/**
 * In one pass: signing secrets, Clerk secret keys, HTTP credentials (`Bearer …`, `Basic …`), and
 * the password of a URL's credentials (`postgres://user:password@host`, the user kept: group 1).
 */
const SECRET_VALUE =
  /whsec_[A-Za-z0-9+/=]+|sk_(?:live|test)_[A-Za-z0-9]+|\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+|(\/\/[^:/@\s]+):[^@\s/]*@/g;
const hide = (_match: string, urlUser: string | undefined): string => (urlUser ? `${urlUser}:***@` : "[redacted]");

/**
 * Removes anything secret-looking from a value before it is logged: fields whose name looks
 * secret (at any depth), and values shaped like a signing secret, a Clerk secret key, an HTTP
 * credential or a URL's password.
 *
 * @example
 * redact({ database: "postgres://app:hunter2@db/app" }); // { database: "postgres://app:***@db/app" }
 */
export function redact(value: unknown, key = ""): unknown {
  if (SECRET_KEY.test(key)) return "[redacted]";
  if (typeof value === "string") return value.replace(SECRET_VALUE, hide);
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redact(v, k);
    return out;
  }
  return value;
}

let pinoModule: typeof Pino | undefined;
/** pino, loaded on the first logger made: an app importing clerk-sync for its receiver never loads it. */
function loadPino(): typeof Pino {
  pinoModule ??= createRequire(import.meta.url)("pino") as typeof Pino;
  return pinoModule;
}

/** How the service's logger holds back repeated warnings and errors. */
export interface RepeatLimit {
  /**
   * The window, in ms (default 60 000): the first warning or error of a kind is written, the
   * next ones of that kind within the window are counted, and one summary line follows at its end.
   */
  windowMs?: number;
  /** Kinds tracked at once (default 1000); past that, lines are written as they come. */
  maxKinds?: number;
}

/**
 * Fields that differ from one request to the next and so do not make a line a different kind:
 * a thousand `delivery failed` lines for a full disk differ only by `svix_id`.
 */
const PER_REQUEST_FIELDS = new Set(["svix_id", "request_id", "time"]);

interface Kind {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Record<string, unknown> | undefined;
  readonly since: number;
  more: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** The service's logger: {@link createJsonLogger}'s, plus `flush()` for summaries still held. */
export interface ServiceLogger extends Logger {
  /** Writes the summary line of every kind with lines held back now (at shutdown). */
  flush(): void;
}

/**
 * The service's JSON-lines logger, written by pino: one object per line on stdout (`level` as
 * its name, `time` in ISO 8601, the fields, `msg`), secrets redacted by key name at any depth
 * and by value shape (see {@link redact}; pino's own `redact` takes fixed paths, which cannot say
 * "any key named like a secret" or "a `whsec_` inside a message"). Repeated warnings and errors
 * are rate-limited (see {@link RepeatLimit}): the first of a kind is written whole, then within
 * the window one summary with the same level, message and fields plus `more_like_this` (how
 * many were held back) and `window_seconds`. A kind is the level, message and fields but the
 * per-request ones (`svix_id`). `write` takes each line (tests); default: stdout, synchronously.
 *
 * @example
 * const log = createJsonLogger("info"); log.info("listening", { port: 3000 });
 */
export function createJsonLogger(
  level: LogLevel = "info",
  write?: (line: string) => void,
  limit: RepeatLimit = {},
): ServiceLogger {
  const min = LOG_LEVEL_RANK[level];
  const windowMs = limit.windowMs ?? 60_000;
  const maxKinds = limit.maxKinds ?? 1_000;
  const kinds = new Map<string, Kind>();
  // Synchronous: a line is on stdout before the call returns, so none is lost when the process
  // exits and supervisors see lines as they happen (stdout is synchronous for files and pipes).
  const pino = loadPino();
  const destination: DestinationStream = write ? { write } : pino.destination({ dest: 1, sync: true });
  const out = pino(
    {
      level,
      base: undefined, // no pid or hostname: the shape of the lines stays what it was
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );

  const line = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    out[lvl]((fields ? redact(fields) : {}) as object, String(redact(message)));
  };

  const summarize = (key: string, kind: Kind) => {
    if (kind.timer) clearTimeout(kind.timer);
    kinds.delete(key);
    if (kind.more === 0) return;
    line(kind.level, kind.message, {
      ...kind.fields,
      more_like_this: kind.more,
      window_seconds: Math.round(windowMs / 1000),
    });
  };

  const limited = (lvl: LogLevel, message: string, fields?: Record<string, unknown>) => {
    const key = kindKey(lvl, message, fields);
    const now = Date.now();
    const kind = kinds.get(key);
    if (kind && now - kind.since < windowMs) {
      kind.more++;
      // The summary is written when the window ends, even if no line of the kind comes then.
      kind.timer ??= setTimeout(() => summarize(key, kind), kind.since + windowMs - now);
      kind.timer.unref?.();
      return;
    }
    if (kind) summarize(key, kind);
    if (kinds.size >= maxKinds) {
      for (const [k, held] of kinds) if (now - held.since >= windowMs) summarize(k, held);
    }
    if (kinds.size < maxKinds) {
      const common = fields && Object.fromEntries(Object.entries(fields).filter(([k]) => !PER_REQUEST_FIELDS.has(k)));
      kinds.set(key, { level: lvl, message, fields: common, since: now, more: 0 });
    }
    line(lvl, message, fields);
  };

  const emit = (lvl: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVEL_RANK[lvl] < min) return;
    if (windowMs > 0 && LOG_LEVEL_RANK[lvl] >= LOG_LEVEL_RANK.warn) limited(lvl, message, fields);
    else line(lvl, message, fields);
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    flush() {
      for (const [key, kind] of kinds) summarize(key, kind);
    },
  };
}

/** A line's kind: its level, message and fields but the per-request ones. */
function kindKey(level: LogLevel, message: string, fields?: Record<string, unknown>): string {
  const rest = fields ? Object.entries(fields).filter(([k]) => !PER_REQUEST_FIELDS.has(k)) : [];
  try {
    return JSON.stringify([level, message, rest]);
  } catch {
    return `${level}\u0000${message}`;
  }
}
