/**
 * The service's per-delivery log lines, written by the hand-rolled JSON-lines writer that the
 * service had before (redact, JSON.stringify, write) and by pino configured as the service
 * configures it now (src/server/log.ts): nanoseconds per line into a sink that drops the text, so
 * the figure is the logger's own cost. At the default level (info) an applied or duplicate
 * delivery writes no line (its `delivery` line is debug); a rejected or failed one writes a
 * warning or an error, the first of its kind per minute (the rest are counted by the repeat
 * summarizer, which both share).
 *
 * node --import tsx bench/log-lines.ts
 */
import pino from "pino";
import { redact } from "../src/server/log.js";

const N = Number(process.env.N ?? 200_000);
const sink = {
  bytes: 0,
  write(line: string): void {
    sink.bytes += line.length;
  },
};

/** The writer the service used before pino (src/server/log.ts, `line`). */
function legacyLine(level: string, message: string, fields: Record<string, unknown>): void {
  const entry = { time: new Date().toISOString(), level, msg: redact(message), ...(redact(fields) as object) };
  sink.write(`${JSON.stringify(entry)}\n`);
}

function pinoLogger(level: string) {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    sink,
  );
}

const cases = {
  "delivery rejected (warn)": {
    level: "warn",
    msg: "delivery rejected",
    fields: { svix_id: "msg_2abc", code: "invalid_signature", status: 401 },
  },
  "delivery failed (error)": {
    level: "error",
    msg: "delivery failed",
    fields: { svix_id: "msg_2abc", code: "store_unavailable", cause: "SqliteError: database or disk is full" },
  },
  "delivery (debug, LOG_LEVEL=debug)": {
    level: "debug",
    msg: "delivery",
    fields: { svix_id: "msg_2abc", type: "user.created", object_id: "user_2abc", outcome: "applied" },
  },
} as const;

function time(fn: () => void): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - start) / N;
}

const rows: string[] = [];
for (const [name, c] of Object.entries(cases)) {
  const p = pinoLogger("debug") as unknown as Record<string, (o: object, m: string) => void>;
  const write = p[c.level] as (o: object, m: string) => void;
  const legacy = time(() => legacyLine(c.level, c.msg, c.fields));
  const withPino = time(() => write.call(p, redact(c.fields) as object, String(redact(c.msg))));
  const pinoBare = time(() => write.call(p, c.fields, c.msg));
  rows.push(
    `${name.padEnd(36)} before ${legacy.toFixed(0).padStart(5)} ns   pino+redact ${withPino.toFixed(0).padStart(5)} ns   pino alone ${pinoBare.toFixed(0).padStart(5)} ns`,
  );
}
// The applied delivery's debug line at the default level: dropped before any work.
const quiet = pinoLogger("info");
const dropped = time(() => quiet.debug(cases["delivery (debug, LOG_LEVEL=debug)"].fields, "delivery"));
rows.push(`${"delivery (debug) at info: dropped".padEnd(36)} pino ${dropped.toFixed(1)} ns`);
console.log(`${N} lines each, node ${process.version}\n${rows.join("\n")}`);
