import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseEnv } from "node:util";
import Database from "better-sqlite3";
import { afterAll } from "vitest";
import { generateSecret } from "../../src/server/env-files.js";
import { signDelivery } from "../../src/testing/sign.js";
import { readText } from "./http-text.js";

/** The CLI entry the package ships; it runs the compiled dist/ (built by `npm run build`). */
export const BIN = fileURLToPath(new URL("../../bin/clerk-sync.js", import.meta.url));

/** Variables of the test runner's own environment that would leak configuration into a child. */
const CONFIG_VARIABLES =
  /^(CLERK_WEBHOOK_SIGNING_SECRET|SIGNING_SECRET|DATABASE_URL|PORT|HOST|LOG_LEVEL|NODE_ENV|CLERK_SYNC_.*)$/;

/** The runner's environment without any clerk-sync configuration, plus `extra` (undefined removes). */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!CONFIG_VARIABLES.test(key)) env[key] = value;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export interface ServiceProcessOptions {
  /**
   * The signing secret given to the service. Default: a fresh `whsec_…`. `null`: none at all, so
   * the service creates a development secret in `.env.local` (read back into `secret`).
   */
  secret?: string | null;
  /** How the secret reaches the service: the environment (default) or `--secret`. */
  secretVia?: "env" | "flag";
  /** Extra environment variables (e.g. `CLERK_SYNC_DELETE_MODE`); `undefined` removes one. */
  env?: Record<string, string | undefined>;
  /** Working directory. Default: a fresh temp dir (removed after the tests). */
  cwd?: string;
  /**
   * Pass `--database-url file:<cwd>/clerk-sync.db` (default true). When false the service uses its
   * default database, which is the same file relative to its cwd.
   */
  databaseFlag?: boolean;
  /** `--port`; default 0 (the OS picks a free port, read back from the "listening" log line). */
  port?: number;
  /** More arguments for `serve`. */
  args?: string[];
  /** How long to wait for the "listening" line. Default 15 s. */
  startTimeoutMs?: number;
}

export interface PostOptions {
  /** `svix-id`; fresh by default. */
  id?: string;
  /** `svix-timestamp` in epoch seconds; now by default. */
  timestamp?: number;
  /** Sign with this secret instead of the service's. */
  secret?: string;
  /** Header overrides applied after signing; `null` removes a header. */
  headers?: Record<string, string | null>;
  /** Send these bytes instead of the signed body (the signature stays that of the payload). */
  body?: string | Uint8Array;
  /** HTTP method; default POST. */
  method?: string;
  /** Request path; default `/api/webhooks`. */
  path?: string;
}

export interface PostResult {
  status: number;
  /** The JSON reply, or null when the reply is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field in tests
  body: any;
  text: string;
  headers: Headers;
  /** The `svix-id` the delivery was signed with. */
  id: string;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LogLine {
  msg?: string;
  level?: string;
  [key: string]: unknown;
}

const live = new Set<ServiceProcess>();
const tempDirs = new Set<string>();

/** A fresh temp dir, removed after the test file. */
export function makeTempDir(prefix = "clerk-sync-e2e-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/**
 * One real `clerk-sync serve` process on a temp SQLite file.
 *
 * @example
 * const svc = await startServiceProcess();
 * const reply = await svc.post(freshExample("user.created"));
 * svc.get("SELECT * FROM clerk_users WHERE id = ?", id);
 */
export class ServiceProcess {
  readonly cwd: string;
  readonly dbPath: string;
  readonly options: ServiceProcessOptions;
  #secret: string | undefined;
  #child: ChildProcess | undefined;
  #exit: Promise<ProcessExit> = Promise.resolve({ code: null, signal: null });
  #port = 0;
  #stdout = "";
  #stderr = "";
  #history = "";

  constructor(options: ServiceProcessOptions = {}) {
    this.options = options;
    this.cwd = options.cwd ?? makeTempDir();
    this.dbPath = join(this.cwd, "clerk-sync.db");
    this.#secret = options.secret === null ? undefined : (options.secret ?? generateSecret());
  }

  /** Base URL, e.g. `http://127.0.0.1:41234` (changes across restarts: the OS picks the port). */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }
  /** The webhook endpoint. */
  get webhookUrl(): string {
    return `${this.url}/api/webhooks`;
  }
  get port(): number {
    return this.#port;
  }
  /** The secret the service verifies with (for `secret: null`, the one it saved to `.env.local`). */
  get secret(): string {
    if (!this.#secret) throw new Error("The service has no known signing secret");
    return this.#secret;
  }
  /** Standard output of the current run. */
  get stdout(): string {
    return this.#stdout;
  }
  /** Standard error of the current run. */
  get stderr(): string {
    return this.#stderr;
  }
  /** Standard output of every run so far, restarts included. */
  get allStdout(): string {
    return this.#history + this.#stdout;
  }
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }
  get pid(): number | undefined {
    return this.#child?.pid;
  }
  /** The JSON log lines of the current run. */
  logs(): LogLine[] {
    return this.#stdout
      .split("\n")
      .filter((line) => line.trim().startsWith("{"))
      .map((line) => JSON.parse(line) as LogLine);
  }

  /** Starts the process and waits for its "listening" log line. */
  async start(): Promise<this> {
    if (this.running) throw new Error("The service is already running");
    const o = this.options;
    const args = [BIN, "serve", "--host", "127.0.0.1", "--port", String(o.port ?? 0)];
    if (o.databaseFlag !== false) args.push("--database-url", `file:${this.dbPath}`);
    const secretFromFlag = o.secretVia === "flag" && o.secret !== null;
    if (secretFromFlag) args.push("--secret", this.secret);
    args.push(...(o.args ?? []));
    const env = cleanEnv({
      ...(o.secret !== null && !secretFromFlag ? { CLERK_WEBHOOK_SIGNING_SECRET: this.secret } : {}),
      ...o.env,
    });
    this.#history += this.#stdout;
    this.#stdout = "";
    this.#stderr = "";
    const child = spawn(process.execPath, args, { cwd: this.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    this.#child = child;
    live.add(this);
    this.#exit = new Promise<ProcessExit>((resolve) => {
      child.once("close", (code, signal) => resolve({ code, signal }));
    });
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (text: string) => {
      this.#stderr += text;
    });

    const timeoutMs = o.startTimeoutMs ?? 15_000;
    await new Promise<void>((resolve, reject) => {
      let buffered = "";
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(
          new Error(
            `clerk-sync serve ${why}\n--- stderr ---\n${this.#stderr}\n--- stdout ---\n${this.#stdout}\n--- args ---\n${args.join(" ")}`,
          ),
        );
      };
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        fail(`did not log "listening" within ${timeoutMs} ms`);
      }, timeoutMs);
      const onError = (error: Error) => fail(`could not be spawned: ${error.message}`);
      // "close" comes after the last stderr chunk, so the report is complete.
      const onClose = (code: number | null, signal: NodeJS.Signals | null) =>
        fail(`exited before listening (code ${code}, signal ${signal})`);
      child.once("error", onError);
      child.once("close", onClose);
      child.stdout?.on("data", (text: string) => {
        this.#stdout += text;
        buffered += text;
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          newline = buffered.indexOf("\n");
          let entry: LogLine;
          try {
            entry = JSON.parse(line) as LogLine;
          } catch {
            continue;
          }
          if (entry.msg === "listening" && typeof entry.url === "string") {
            clearTimeout(timer);
            child.off("close", onClose);
            child.off("error", onError);
            this.#port = Number(new URL(entry.url).port);
            resolve();
          }
        }
      });
    });
    if (!this.#secret) {
      // A development secret was created: read it back as `clerk-sync send` would.
      this.#secret = this.envLocal().CLERK_WEBHOOK_SIGNING_SECRET;
    }
    return this;
  }

  /** Variables in `<cwd>/.env.local` (empty when the file is absent). */
  envLocal(): Record<string, string | undefined> {
    try {
      return parseEnv(readFileSync(join(this.cwd, ".env.local"), "utf8"));
    } catch {
      return {};
    }
  }

  /** Resolves when the current process has exited. */
  exited(): Promise<ProcessExit> {
    return this.#exit;
  }

  /** Sends SIGTERM without waiting. */
  signal(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.running) this.#child?.kill(signal);
  }

  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`, reported as signal SIGKILL). */
  async stop(timeoutMs = 10_000): Promise<ProcessExit> {
    if (!this.running) return this.#exit;
    this.#child?.kill("SIGTERM");
    const timer = setTimeout(() => this.#child?.kill("SIGKILL"), timeoutMs);
    const exit = await this.#exit;
    clearTimeout(timer);
    live.delete(this);
    return exit;
  }

  /** SIGKILL (kill -9) at once, then waits for the exit. */
  async kill9(): Promise<ProcessExit> {
    if (!this.running) return this.#exit;
    this.#child?.kill("SIGKILL");
    const exit = await this.#exit;
    live.delete(this);
    return exit;
  }

  /** Stops the process if it runs (SIGTERM) and starts it again on the same cwd and database file. */
  async restart(): Promise<this> {
    await this.stop();
    return this.start();
  }

  /**
   * Signs `payload` with the service's secret and POSTs it.
   *
   * @example
   * await svc.post(event, { id: "msg_1" }); // a retry of msg_1
   * await svc.post(event, { timestamp: nowSeconds - 3600 }); // too old
   */
  async post(payload: string | Uint8Array | object, options: PostOptions = {}): Promise<PostResult> {
    const { id, headers, body } = prepare(options.secret ?? this.secret, payload, options);
    const method = options.method ?? "POST";
    const response = await fetch(`${this.url}${options.path ?? "/api/webhooks"}`, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : toBodyInit(body),
    });
    return { ...(await readReply(response)), id };
  }

  /**
   * Opens a signed POST over node:http and hands back control of the body: write it in parts
   * (slowly, or chunked without a content-length), then end it.
   *
   * @example
   * const open = svc.openPost(event);
   * await open.write(open.bytes.subarray(0, 100)); // the body is still arriving…
   * open.end(open.bytes.subarray(100));
   * const reply = await open.reply;
   */
  openPost(payload: string | Uint8Array | object, options: PostOptions & { chunked?: boolean } = {}): OpenPost {
    const prepared = prepare(options.secret ?? this.secret, payload, options);
    const bytes = Buffer.from(prepared.body);
    const headers: Record<string, string> = { ...prepared.headers, connection: "close" };
    if (!options.chunked) headers["content-length"] = String(bytes.byteLength);
    const req = httpRequest(`${this.url}${options.path ?? "/api/webhooks"}`, {
      method: options.method ?? "POST",
      headers,
      agent: false,
    });
    const reply = new Promise<Omit<PostResult, "id" | "headers">>((resolve, reject) => {
      req.once("error", reject);
      req.once("response", (res) => {
        readText(res).then((text) => {
          let body: unknown = null;
          try {
            body = JSON.parse(text);
          } catch {
            // Not JSON.
          }
          resolve({ status: res.statusCode ?? 0, body, text });
        }, reject);
      });
    });
    // Marked handled here; the caller awaits `reply` when it wants the outcome.
    reply.catch(() => {});
    req.flushHeaders();
    return {
      id: prepared.id,
      bytes,
      reply,
      write: (chunk) =>
        new Promise<void>((resolve) => {
          // A write error (the server closed the connection early) surfaces through `reply`.
          if (req.destroyed) resolve();
          else req.write(chunk, () => resolve());
        }),
      end: (chunk) => {
        if (!req.destroyed) req.end(chunk);
      },
    };
  }

  /** A plain request to the service (`/healthz`, `/readyz`, …). */
  async request(path: string, init: RequestInit = {}): Promise<Omit<PostResult, "id">> {
    return readReply(await fetch(`${this.url}${path}`, init));
  }

  /** Runs `fn` on a read-only connection to the database file, then closes it. */
  withDb<T>(fn: (db: Database.Database) => T): T {
    const db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      return fn(db);
    } finally {
      db.close();
    }
  }

  /** All rows of a query (read-only). */
  all<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    return this.withDb((db) => db.prepare(sql).all(...params) as T[]);
  }

  /** The first row of a query, or undefined (read-only). */
  get<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T | undefined {
    return this.withDb((db) => db.prepare(sql).get(...params) as T | undefined);
  }

  /** Row counts of the tables a delivery writes to. */
  counts(): { events: number; users: number; emails: number } {
    return this.withDb((db) => {
      const n = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return {
        events: n("clerk_webhook_events"),
        users: n("clerk_users"),
        emails: n("clerk_user_email_addresses"),
      };
    });
  }

  /** The `clerk_users` row of `id`. */
  user(id: string): Record<string, unknown> | undefined {
    return this.get("SELECT * FROM clerk_users WHERE id = ?", id);
  }

  /** The `clerk_webhook_events` row of a delivery id. */
  event(svixId: string): Record<string, unknown> | undefined {
    return this.get("SELECT * FROM clerk_webhook_events WHERE svix_id = ?", svixId);
  }

  /** The email rows of a user, by id. */
  emails(userId: string): Record<string, unknown>[] {
    return this.all("SELECT * FROM clerk_user_email_addresses WHERE user_id = ? ORDER BY id", userId);
  }
}

/** A POST whose body the test writes itself (see {@link ServiceProcess.openPost}). */
export interface OpenPost {
  /** The `svix-id` it is signed with. */
  id: string;
  /** The whole body to send. */
  bytes: Buffer;
  /** Writes part of the body; resolves once it is flushed to the socket. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the body, optionally with a last part. */
  end(chunk?: Uint8Array): void;
  /** The reply (rejects when the connection fails before one arrives). */
  reply: Promise<Omit<PostResult, "id" | "headers">>;
}

function prepare(
  secret: string,
  payload: string | Uint8Array | object,
  options: PostOptions,
): { id: string; headers: Record<string, string>; body: string | Uint8Array } {
  const signed = signDelivery({
    secret,
    payload,
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  const headers: Record<string, string> = { ...signed.headers };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) delete headers[name.toLowerCase()];
    else headers[name.toLowerCase()] = value;
  }
  return { id: signed.id, headers, body: options.body ?? signed.body };
}

function toBodyInit(body: string | Uint8Array): BodyInit {
  return typeof body === "string" ? body : (Buffer.from(body.buffer, body.byteOffset, body.byteLength) as BodyInit);
}

async function readReply(response: Response): Promise<Omit<PostResult, "id">> {
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: left null, the text is kept.
  }
  return { status: response.status, body, text, headers: response.headers };
}

/**
 * Starts a service process and waits until it listens. Every process started here is killed
 * after the test file, pass or fail.
 */
export function startServiceProcess(options: ServiceProcessOptions = {}): Promise<ServiceProcess> {
  return new ServiceProcess(options).start();
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one `clerk-sync` CLI command to completion (`send`, `status`, …).
 *
 * @example
 * const { code, stdout } = await runCli(["status", "--json"], { cwd });
 */
export function runCli(
  args: string[],
  options: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd,
      env: cleanEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => {
      stdout += t;
    });
    child.stderr.setEncoding("utf8").on("data", (t: string) => {
      stderr += t;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`clerk-sync ${args.join(" ")} timed out\n--- stderr ---\n${stderr}`));
    }, options.timeoutMs ?? 15_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Kills every service process still running and removes the temp dirs. */
export async function cleanupServiceProcesses(): Promise<void> {
  await Promise.all([...live].map((svc) => svc.kill9()));
  live.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

afterAll(cleanupServiceProcesses);

// Last resort if the runner dies without running afterAll: no orphaned services.
process.once("exit", () => {
  for (const svc of live) if (svc.pid !== undefined && svc.running) process.kill(svc.pid, "SIGKILL");
});
