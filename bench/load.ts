/**
 * A minimal HTTP/1.1 keep-alive load generator over raw TCP sockets, for the ingest benchmark.
 *
 * Each request is serialised once into a single Buffer (request line, headers and body) and
 * written with one `socket.write`; responses are parsed just enough to read the status code and
 * skip the body (`content-length` only, which every server in the benchmark sends). One request
 * is in flight per connection (no pipelining), like Svix and like autocannon's default.
 *
 * This costs far less CPU per request than autocannon with a per-request `setupRequest` (which
 * rebuilds the request for every send) or than node:http/undici clients, which matters on a
 * 2-core machine where the client and the server under test share the CPU.
 */
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

const HEADER_END = Buffer.from("\r\n\r\n", "latin1");
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[^\r]*chunked/i;

/** Serialises one POST into the exact bytes to write on the wire. */
export function buildRequest(path: string, headers: Record<string, string>, body: string | Uint8Array): Buffer {
  const payload = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  let head = `POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === "content-length" || name.toLowerCase() === "host") continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), payload]);
}

export interface LoadResult {
  /** Requests answered. */
  readonly completed: number;
  /** Count per HTTP status. */
  readonly statuses: ReadonlyMap<number, number>;
  /** First bytes of the first non-2xx body seen, for diagnosis. */
  readonly firstFailure: string | undefined;
  /** Wall time from the first write to the last response, ms. */
  readonly elapsedMs: number;
  /** Per-request latency (write → full response), ms, in request order. */
  readonly latenciesMs: Float64Array;
  /**
   * Per-request latency from the moment the request was due (rate-limited runs: start + i / rate)
   * to its full response, ms: includes any wait for a free connection, so a server stall is not
   * hidden by the client holding requests back (coordinated omission). Closed loop: = latenciesMs.
   */
  readonly scheduledLatenciesMs: Float64Array;
  /** CPU time this (client) process used during the run, ms. */
  readonly clientCpuMs: number;
  /** Rate-limited runs: the largest delay between a request's due time and its write, ms. */
  readonly maxSendLagMs: number;
}

/** One keep-alive connection with at most one request in flight. */
class Connection {
  #pending: Buffer | undefined;
  #startedAt = 0;
  #index = -1;
  #closedByUs = false;

  private constructor(
    readonly socket: Socket,
    private readonly onResponse: (
      conn: Connection,
      index: number,
      status: number,
      startedAt: number,
      body: Buffer,
    ) => void,
    private readonly onError: (error: Error) => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", (error) => this.onError(error));
    socket.on("close", () => {
      if (!this.#closedByUs) this.onError(new Error(`connection closed by the server (request #${this.#index})`));
    });
  }

  static open(
    host: string,
    port: number,
    onResponse: (conn: Connection, index: number, status: number, startedAt: number, body: Buffer) => void,
    onError: (error: Error) => void,
  ): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new Connection(socket, onResponse, onError));
      });
      socket.once("error", reject);
    });
  }

  get busy(): boolean {
    return this.#index >= 0;
  }

  send(index: number, bytes: Buffer): void {
    this.#index = index;
    this.#startedAt = performance.now();
    this.socket.write(bytes);
  }

  close(): void {
    this.#closedByUs = true;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    let buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      const end = buf.indexOf(HEADER_END);
      if (end < 0) break;
      const head = buf.toString("latin1", 0, end + 2);
      if (CHUNKED.test(head)) {
        this.onError(new Error("chunked responses are not supported by the bench client"));
        return;
      }
      const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
      const total = end + 4 + length;
      if (buf.length < total) break;
      const status = Number(head.slice(9, 12));
      const index = this.#index;
      const startedAt = this.#startedAt;
      const body = buf.subarray(end + 4, total);
      buf = buf.subarray(total);
      this.#index = -1;
      this.onResponse(this, index, status, startedAt, body);
    }
    this.#pending = buf.length > 0 ? buf : undefined;
  }
}

export interface RunOptions {
  host: string;
  port: number;
  /** Pre-built request bytes; each is sent exactly once, in order. */
  requests: readonly Buffer[];
  connections: number;
  /** Requests per second to offer (rate-limited run); omit for a closed loop (as fast as answered). */
  rate?: number;
}

/**
 * Sends every request once over `connections` keep-alive connections and waits for all the
 * answers. Closed loop by default (each connection sends its next request as soon as the previous
 * one is answered); with `rate`, request i is due at start + i / rate seconds and goes out on an
 * idle connection as soon as it is due.
 */
export async function run(options: RunOptions): Promise<LoadResult> {
  const { requests, rate } = options;
  const total = requests.length;
  const latencies = new Float64Array(total);
  const scheduled = new Float64Array(total);
  const statuses = new Map<number, number>();
  let firstFailure: string | undefined;
  let completed = 0;
  let next = 0;
  let maxSendLagMs = 0;
  let t0 = 0;
  let timer: NodeJS.Timeout | undefined;
  const idle: Connection[] = [];

  let finish!: (value: number) => void;
  let fail!: (error: Error) => void;
  const done = new Promise<number>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });

  done.catch(() => {}); // a failure before the run starts surfaces through the awaits below
  const interval = rate ? 1000 / rate : 0;

  const dispatch = (conn: Connection): void => {
    if (next >= total) return;
    if (rate) {
      const lag = performance.now() - (t0 + next * interval);
      if (lag < 0) {
        idle.push(conn);
        arm();
        return;
      }
      if (lag > maxSendLagMs) maxSendLagMs = lag;
    }
    const index = next++;
    conn.send(index, requests[index] as Buffer);
  };

  const onResponse = (conn: Connection, index: number, status: number, startedAt: number, body: Buffer): void => {
    const now = performance.now();
    latencies[index] = now - startedAt;
    scheduled[index] = rate ? now - (t0 + index * interval) : now - startedAt;
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if ((status < 200 || status > 299) && firstFailure === undefined) {
      firstFailure = `${status} ${body.toString("utf8", 0, Math.min(body.length, 300))}`;
    }
    completed++;
    if (completed === total) {
      finish(performance.now());
      return;
    }
    dispatch(conn);
  };

  const conns = await Promise.all(
    Array.from({ length: options.connections }, () => Connection.open(options.host, options.port, onResponse, fail)),
  );

  function arm(): void {
    if (timer !== undefined || next >= total || idle.length === 0) return;
    timer = setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
  }

  function tick(): void {
    timer = undefined;
    const now = performance.now();
    while (next < total && t0 + next * interval <= now) {
      const conn = idle.pop();
      if (!conn) break; // every connection is busy: the next response sends it
      dispatch(conn);
    }
    arm();
  }

  const cpu0 = process.cpuUsage();
  t0 = performance.now();
  if (rate) {
    idle.push(...conns);
    tick();
  } else {
    for (const conn of conns) dispatch(conn);
  }

  try {
    const endedAt = await done;
    const cpu = process.cpuUsage(cpu0);
    return {
      completed,
      statuses,
      firstFailure,
      elapsedMs: endedAt - t0,
      latenciesMs: latencies,
      scheduledLatenciesMs: scheduled,
      clientCpuMs: (cpu.user + cpu.system) / 1000,
      maxSendLagMs,
    };
  } finally {
    if (timer) clearTimeout(timer);
    for (const conn of conns) conn.close();
  }
}

/** The p-th percentile (0–100) of the values, nearest-rank. */
export function percentile(values: Float64Array, p: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
