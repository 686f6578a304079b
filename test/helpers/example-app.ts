/**
 * The example apps under examples/ as real processes: `next start` (or `next dev`) for
 * examples/nextjs and the built servers of examples/express, examples/hono and examples/node,
 * each on a free port and its own temp SQLite file. They are installed (the packed clerk-sync
 * tarball) and built by scripts/build-examples.sh (CI runs it before the tests).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { generateSecret } from "../../src/server/env-files.js";
import { signDelivery } from "../../src/testing/sign.js";
import { cleanEnv, makeTempDir } from "./service-process.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const EXAMPLES_DIR = join(ROOT, "examples");

/**
 * Clerk keys that @clerk/nextjs accepts without calling Clerk: a well-formed production
 * publishable key (`pk_live_` + base64 of `clerk.example.com$`). With a production key and no
 * session cookies, clerkMiddleware() answers "signed out" locally; a development key (`pk_test_`)
 * would redirect browser navigations to Clerk's handshake endpoint.
 */
export const OFFLINE_CLERK_KEYS = {
  NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY: `pk_live_${Buffer.from("clerk.example.com$").toString("base64")}`,
  CLERK_SECRET_KEY: "sk_live_example_not_a_real_key",
} as const;

export interface ExampleSpec {
  name: "nextjs" | "express" | "hono" | "node";
  dir: string;
  /** The host name it listens on and is reached at (loopback). */
  host: string;
  /** Why the example cannot run (not installed or not built), or undefined when it can. */
  missing(): string | undefined;
  /** The command that serves the built app on `port`. */
  command(port: number): { file: string; args: string[]; env: Record<string, string> };
}

const nextDir = join(EXAMPLES_DIR, "nextjs");

/** Why examples/nextjs cannot run, or undefined. */
function nextMissing(): string | undefined {
  return !existsSync(join(nextDir, "node_modules", "next", "package.json"))
    ? "examples/nextjs is not installed (no node_modules/next)"
    : !existsSync(join(nextDir, ".next", "BUILD_ID"))
      ? "examples/nextjs is not built (no .next/BUILD_ID)"
      : undefined;
}

/** `next <command>` in examples/nextjs on `port`. */
function nextCommand(command: "start" | "dev", port: number) {
  return {
    file: process.execPath,
    // Not "127.0.0.1": with -H 127.0.0.1, next start fails (500) to route the rewrite that
    // clerkMiddleware() returns, which it proxies to http://localhost:<port>.
    args: [
      join(nextDir, "node_modules", "next", "dist", "bin", "next"),
      command,
      "-p",
      String(port),
      "-H",
      "localhost",
    ],
    env: { ...OFFLINE_CLERK_KEYS, NEXT_TELEMETRY_DISABLED: "1" },
  };
}

/** An example whose `npm run build` compiles src/server.ts to dist/server.js (PORT, HOST). */
function nodeServerExample(name: "express" | "hono" | "node", framework: string): ExampleSpec {
  const dir = join(EXAMPLES_DIR, name);
  return {
    name,
    dir,
    host: "127.0.0.1",
    missing: () =>
      !existsSync(join(dir, "node_modules", framework, "package.json"))
        ? `examples/${name} is not installed (no node_modules/${framework})`
        : !existsSync(join(dir, "dist", "server.js"))
          ? `examples/${name} is not built (no dist/server.js)`
          : undefined,
    command: (port) => ({
      file: process.execPath,
      args: [join(dir, "dist", "server.js")],
      env: { PORT: String(port), HOST: "127.0.0.1" },
    }),
  };
}

export const EXAMPLES: readonly ExampleSpec[] = [
  {
    name: "nextjs",
    dir: nextDir,
    host: "localhost",
    missing: nextMissing,
    command: (port) => nextCommand("start", port),
  },
  nodeServerExample("express", "express"),
  nodeServerExample("hono", "hono"),
  // No framework: its one dependency is clerk-sync.
  nodeServerExample("node", "clerk-sync"),
];

/**
 * examples/nextjs under `next dev` (Turbopack), which compiles routes on their first request and
 * writes to .next/dev, beside the production build `next start` serves.
 */
export const NEXT_DEV: ExampleSpec = {
  name: "nextjs",
  dir: nextDir,
  host: "localhost",
  missing: () =>
    existsSync(join(nextDir, "node_modules", "next", "package.json"))
      ? undefined
      : "examples/nextjs is not installed (no node_modules/next)",
  command: (port) => nextCommand("dev", port),
};

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: replies are checked field by field in tests
  json: any;
}

/** One example app running as its own process on a temp SQLite database. */
export class ExampleApp {
  readonly secret = generateSecret();
  readonly dbPath = join(makeTempDir("clerk-sync-example-"), "app.db");
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #output = "";
  #port = 0;

  constructor(readonly spec: ExampleSpec) {}

  get url(): string {
    return `http://${this.spec.host}:${this.#port}`;
  }
  get webhookUrl(): string {
    return `${this.url}/api/webhooks`;
  }
  /** What the process printed (stdout and stderr). */
  get output(): string {
    return this.#output;
  }

  /** Starts the app and waits until it answers HTTP. */
  async start(timeoutMs = 30_000): Promise<this> {
    this.#port = await freePort();
    const { file, args, env } = this.spec.command(this.#port);
    const child = spawn(file, args, {
      cwd: this.spec.dir,
      env: cleanEnv({ ...env, CLERK_WEBHOOK_SIGNING_SECRET: this.secret, DATABASE_URL: `file:${this.dbPath}` }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    this.#exited = new Promise((resolve) => child.once("close", () => resolve()));
    child.stdout?.setEncoding("utf8").on("data", (text: string) => {
      this.#output += text;
    });
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      this.#output += text;
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`examples/${this.spec.name} exited before answering:\n${this.#output}`);
      }
      try {
        // GET on the webhook route: answered (405) without touching the database.
        await fetch(this.webhookUrl, { signal: AbortSignal.timeout(2_000), redirect: "manual" });
        return this;
      } catch {
        if (Date.now() > deadline) {
          await this.stop();
          throw new Error(`examples/${this.spec.name} did not answer within ${timeoutMs} ms:\n${this.#output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    }
  }

  /** SIGTERM, then SIGKILL after 5 s; waits for the exit. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Signs `payload` with the app's secret (or `secret`) and POSTs it to the webhook route. */
  async send(
    payload: object | string,
    options: { secret?: string; id?: string } = {},
  ): Promise<Reply & { id: string }> {
    const delivery = signDelivery({
      secret: options.secret ?? this.secret,
      payload,
      ...(options.id ? { id: options.id } : {}),
    });
    const reply = await this.request(this.webhookUrl, {
      method: "POST",
      body: delivery.body,
      headers: delivery.headers,
    });
    return { ...reply, id: delivery.id };
  }

  /** A request to the app, its reply read whole. */
  async request(
    url: string,
    init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {},
  ) {
    const response = await fetch(url, { ...init, body: init.body as BodyInit | undefined, redirect: "manual" });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: response.status, headers: response.headers, text, json } as Reply;
  }

  /** Runs a read-only query on the app's database. */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    const db = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }
}
