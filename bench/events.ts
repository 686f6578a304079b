/**
 * The deliveries the benchmarks send: unique `user.created` events (~1.5 KB of compact JSON),
 * signed just before sending, and the check that every one of them was answered 2xx.
 */
import { freshExample } from "../src/testing/fixtures.js";
import { newMessageId, signDelivery } from "../src/testing/sign.js";
import { buildRequest, type LoadResult, run } from "./load.js";
import { HOST } from "./processes.js";

/** Where every server under test takes webhooks. */
export const WEBHOOK_PATH = "/api/webhooks";

export interface BenchEvent {
  readonly svixId: string;
  readonly userId: string;
  readonly body: string;
}

/**
 * `count` events, each with its own user and svix id. Compact JSON (JSON.stringify, no spaces):
 * it survives a parse + re-serialize, so a route that verifies the re-serialized body passes.
 */
export function makeEvents(count: number): BenchEvent[] {
  const events: BenchEvent[] = [];
  for (let i = 0; i < count; i++) {
    const event = freshExample("user.created");
    events.push({ svixId: newMessageId(), userId: String(event.data.id), body: JSON.stringify(event) });
  }
  return events;
}

/** Mean body size of `events`, bytes. */
export function averageBodyBytes(events: readonly BenchEvent[]): number {
  return events.reduce((n, e) => n + Buffer.byteLength(e.body), 0) / events.length;
}

/** Serialises one signed POST into the bytes to write on the wire. */
export type RequestBuilder = (headers: Record<string, string>, body: string | Uint8Array) => Buffer;

/**
 * Signs every event with the current time and serialises the requests (by default a POST to
 * WEBHOOK_PATH as bench/load.ts writes it).
 */
export function signAll(
  events: readonly BenchEvent[],
  secret: string,
  toRequest: RequestBuilder = (headers, body) => buildRequest(WEBHOOK_PATH, headers, body),
): Buffer[] {
  const timestamp = Math.floor(Date.now() / 1000);
  return events.map((e) => {
    const { headers, body } = signDelivery({ secret, payload: e.body, id: e.svixId, timestamp });
    return toRequest(headers, body);
  });
}

/** Throws unless all `expected` requests were answered, every one 2xx. */
export function checkAnswers(what: string, result: LoadResult, expected: number): void {
  const bad = [...result.statuses.entries()].filter(([status]) => status < 200 || status > 299);
  if (result.completed !== expected || bad.length > 0) {
    const statuses = [...result.statuses.entries()].map(([s, n]) => `${s}×${n}`).join(", ");
    throw new Error(`${what}: ${result.completed}/${expected} answered, statuses ${statuses}; ${result.firstFailure}`);
  }
}

/** Sends `requests` once (closed loop) to the server on HOST:`port`; throws unless every answer is 2xx. */
export async function sendChecked(
  what: string,
  port: number,
  requests: readonly Buffer[],
  connections: number,
): Promise<void> {
  checkAnswers(what, await run({ host: HOST, port, requests, connections }), requests.length);
}
