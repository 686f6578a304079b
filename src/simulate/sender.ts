/**
 * A sender that behaves like Svix: every message is delivered at least once, in best-effort
 * order (some messages overtaken, some sent twice, attempts delayed), every non-2xx answer or
 * timeout retried on Svix's schedule (compressed by `timeScale`), several attempts in flight.
 */
import { type Random, randomInt, seededRandom } from "../clerk-api/random.js";
import { ClerkSyncError } from "../core/errors.js";
import { ABORT_MESSAGE } from "../core/handler.js";
import { decodeSecret } from "../core/verify.js";
import { signDelivery } from "../testing/sign.js";
import type { SimulatedMessage } from "./history.js";

/** Svix's retry schedule after a failed attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const SVIX_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** Svix waits this long for an answer before it counts the attempt as failed. */
export const SVIX_TIMEOUT_MS = 15_000;

/** How far (in messages) a reordered message is pushed back. */
const REORDER_WINDOW = 10;

/** Options of {@link sendLikeSvix}. */
export interface SendOptions {
  /** The receiving endpoint. */
  url: string;
  /** The signing secret (`whsec_…`) every attempt is signed with. */
  secret: string;
  /** Share of messages overtaken by up to 10 later ones (0–1, default 0). */
  reorder?: number;
  /** Share of acknowledged messages delivered once more (0–1, default 0), as Svix may. */
  duplicates?: number;
  /** Each attempt waits a random 0…delayMs ms before it is sent (default 0). */
  delayMs?: number;
  /** Divides Svix's retry schedule: 1000 turns 5 s into 5 ms and 10 h into 36 s (default 1). */
  timeScale?: number;
  /** Attempts in flight at once (default 10). */
  concurrency?: number;
  /** Per-attempt timeout (default Svix's 15 s). */
  timeoutMs?: number;
  /** Seed of the reordering, duplicates and delays (default 1). */
  seed?: number;
  /** Stops sending: attempts in flight finish, nothing new starts. */
  signal?: AbortSignal;
  /** Called with every answer as it arrives (tests use it to fail a server at a given point). */
  onAnswer?: (answer: AttemptAnswer) => void;
}

/** How one attempt ended. */
export interface AttemptAnswer {
  svixId: string;
  /** 1 for the first attempt of the message. */
  attempt: number;
  /** The HTTP status, or null when there was none (see `failure`). */
  status: number | null;
  failure?: "timeout" | "connection_failed";
  /** Whether this attempt was an extra copy of a message already acknowledged. */
  duplicate: boolean;
}

/** What happened to one message. */
export interface MessageResult {
  svixId: string;
  type: string;
  objectId: string;
  /** Attempts made, duplicates included. */
  attempts: number;
  /** Whether an attempt got a 2xx. */
  acknowledged: boolean;
  /** Retries exhausted, or stopped by `webhook-delivery: abort-message`, with no 2xx. */
  gaveUp: boolean;
  /** The receiver asked Svix to stop retrying (`webhook-delivery: abort-message`). */
  aborted: boolean;
  /** The last answer: a status, `timeout` or `connection_failed`. */
  lastAnswer: string;
}

/** The sender's report. */
export interface SendReport {
  url: string;
  messages: number;
  acknowledged: number;
  gaveUp: number;
  /** Messages neither acknowledged nor given up (the run was stopped). */
  pending: number;
  attempts: number;
  /** Extra copies sent of acknowledged messages. */
  duplicatesSent: number;
  /** Answers by status (`"200"`, `"503"`, …), `timeout` and `connection_failed`. */
  answers: Record<string, number>;
  results: MessageResult[];
}

interface Task {
  message: SimulatedMessage;
  result: MessageResult;
  readyAt: number;
  seq: number;
  /** How many retries of the schedule have been used. */
  retries: number;
  duplicate: boolean;
}

function probability(name: string, value: number | undefined): number {
  const p = value ?? 0;
  if (!(p >= 0 && p <= 1)) throw new ClerkSyncError("invalid_config", `${name} must be between 0 and 1, got ${value}`);
  return p;
}

function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  const n = value ?? fallback;
  if (!(n > 0) || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new ClerkSyncError(
      "invalid_config",
      `${name} must be a positive ${integer ? "whole " : ""}number, got ${value}`,
    );
  }
  return n;
}

/** The order of first attempts: the history's, with a share of messages pushed back. */
function dispatchOrder(random: Random, count: number, reorder: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    random() < reorder ? i + randomInt(random, 1, REORDER_WINDOW) + 0.5 : i,
  );
}

/**
 * Delivers `history` to `options.url` as Svix would, and reports what it sent and what came back.
 *
 * @example
 * const report = await sendLikeSvix(generateHistory({ users: 20 }), {
 *   url: "http://127.0.0.1:3000/api/webhooks", secret, duplicates: 0.1, reorder: 0.2, timeScale: 1000,
 * });
 * report.gaveUp; // 0 when every message was acknowledged
 */
export async function sendLikeSvix(history: readonly SimulatedMessage[], options: SendOptions): Promise<SendReport> {
  decodeSecret(options.secret);
  const reorder = probability("reorder", options.reorder);
  const duplicates = probability("duplicates", options.duplicates);
  const delayMs = options.delayMs ?? 0;
  if (!(delayMs >= 0)) throw new ClerkSyncError("invalid_config", `delayMs must be 0 or more, got ${delayMs}`);
  const timeScale = positive("timeScale", options.timeScale, 1);
  const concurrency = positive("concurrency", options.concurrency, 10, true);
  const timeoutMs = positive("timeoutMs", options.timeoutMs, SVIX_TIMEOUT_MS);
  let url: URL;
  try {
    url = new URL(options.url);
  } catch (cause) {
    throw new ClerkSyncError("invalid_config", `url is not a URL: ${options.url}`, { cause });
  }
  const random = seededRandom(options.seed ?? 1);
  const answers: Record<string, number> = {};
  let attempts = 0;
  let duplicatesSent = 0;
  let seq = history.length;
  const start = performance.now();
  const now = () => performance.now() - start;
  const jitter = () => (delayMs > 0 ? random() * delayMs : 0);

  const queue: Task[] = [];
  const push = (task: Task) => {
    let i = queue.length;
    while (
      i > 0 &&
      ((queue[i - 1] as Task).readyAt > task.readyAt ||
        ((queue[i - 1] as Task).readyAt === task.readyAt && (queue[i - 1] as Task).seq > task.seq))
    )
      i--;
    queue.splice(i, 0, task);
    for (const wake of waiters.splice(0)) wake();
  };
  const waiters: (() => void)[] = [];
  const results = history.map(
    (m): MessageResult => ({
      svixId: m.svixId,
      type: m.type,
      objectId: m.objectId,
      attempts: 0,
      acknowledged: false,
      gaveUp: false,
      aborted: false,
      lastAnswer: "",
    }),
  );
  const order = dispatchOrder(random, history.length, reorder);
  history.forEach((message, i) => {
    push({
      message,
      result: results[i] as MessageResult,
      readyAt: jitter(),
      seq: order[i] as number,
      retries: 0,
      duplicate: false,
    });
  });
  // First attempts all start "now": sort them by their place in the (reordered) history.
  queue.sort((a, b) => a.readyAt - b.readyAt || a.seq - b.seq);

  let inFlight = 0;
  const attempt = async (task: Task) => {
    const { message, result } = task;
    result.attempts++;
    attempts++;
    if (task.duplicate) duplicatesSent++;
    const signed = signDelivery({ secret: options.secret, payload: message.body, id: message.svixId });
    let status: number | null = null;
    let failure: AttemptAnswer["failure"];
    let abort = false;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: signed.headers,
        body: signed.body as string,
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      status = response.status;
      abort = response.headers.get("webhook-delivery") === ABORT_MESSAGE["webhook-delivery"];
    } catch (error) {
      failure = (error as Error).name === "TimeoutError" ? "timeout" : "connection_failed";
    }
    const answer = status === null ? (failure as string) : String(status);
    answers[answer] = (answers[answer] ?? 0) + 1;
    options.onAnswer?.({
      svixId: message.svixId,
      attempt: result.attempts,
      status,
      duplicate: task.duplicate,
      ...(failure ? { failure } : {}),
    });
    if (task.duplicate) return;
    result.lastAnswer = answer;
    if (status !== null && status >= 200 && status < 300) {
      result.acknowledged = true;
      if (random() < duplicates) push({ ...task, readyAt: now() + jitter(), seq: seq++, duplicate: true });
      return;
    }
    const wait = SVIX_RETRY_SCHEDULE_MS[task.retries];
    if (abort || wait === undefined) {
      result.gaveUp = true;
      result.aborted = abort;
      return;
    }
    push({ ...task, readyAt: now() + wait / timeScale + jitter(), seq: seq++, retries: task.retries + 1 });
  };

  const worker = async () => {
    for (;;) {
      if (options.signal?.aborted) break;
      const next = queue[0];
      if (next !== undefined && next.readyAt <= now()) {
        queue.shift();
        inFlight++;
        try {
          await attempt(next);
        } finally {
          inFlight--;
          if (queue.length === 0 && inFlight === 0) for (const wake of waiters.splice(0)) wake();
        }
        continue;
      }
      if (next === undefined && inFlight === 0) break;
      const until = next === undefined ? 1_000 : Math.max(1, Math.min(1_000, next.readyAt - now()));
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(done, until);
        waiters.push(done);
      });
    }
    for (const wake of waiters.splice(0)) wake();
  };
  await Promise.all(Array.from({ length: concurrency }, worker));

  const acknowledged = results.filter((r) => r.acknowledged).length;
  const gaveUp = results.filter((r) => r.gaveUp).length;
  return {
    url: url.toString(),
    messages: history.length,
    acknowledged,
    gaveUp,
    pending: history.length - acknowledged - gaveUp,
    attempts,
    duplicatesSent,
    answers,
    results,
  };
}
