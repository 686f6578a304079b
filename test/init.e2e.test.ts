/**
 * `clerk-sync init` on fresh projects made in a temp folder (a package.json naming the framework;
 * node_modules links clerk-sync to this checkout and the framework to the repository's copy):
 * the files it writes and prints, a second run that changes nothing, a file of the user's kept
 * without --force, and the generated code run for real: the Express app as a process and the
 * Next.js route behind a real HTTP server, each sent an event with `clerk-sync send` and the row
 * read back with SQL. The Next.js files are typechecked with tsc rather than built with
 * `next build` (minutes on a small machine, and the route imports nothing from next).
 * Needs `npm run -s build` first (the CLI and the package run from dist/).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import ts from "typescript";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { InitChange } from "../src/cli/commands/init.js";
import { runCommand } from "../src/cli/main.js";
import { generateSecret } from "../src/server/env-files.js";
import { ROOT } from "./helpers/example-app.js";
import { type Served, serveWebHandler } from "./helpers/http-servers.js";
import { cleanEnv, runCli } from "./helpers/service-process.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("init");

/** A fresh project: package.json with these dependencies, node_modules linking `links` (name → path). */
function project(pkg: object, links: Record<string, string>, files: Record<string, string> = {}): string {
  const dir = tempDir();
  writeFileSync(join(dir, "package.json"), JSON.stringify(pkg, null, 2));
  mkdirSync(join(dir, "node_modules"));
  for (const [name, target] of Object.entries(links)) symlinkSync(target, join(dir, "node_modules", name), "dir");
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** Every file of the project but node_modules, with its content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (path === "node_modules") continue;
      if (entry.isDirectory()) walk(path);
      else out[path] = readFileSync(join(dir, path), "utf8");
    }
  };
  walk("");
  return out;
}

async function initJson(cwd: string, ...flags: string[]) {
  const result = await runCli(["init", "--json", ...flags], { cwd });
  return { code: result.code, ...(JSON.parse(result.stdout) as { framework: string; changes: InitChange[] }) };
}

function rows(dbFile: string, sql: string, ...params: unknown[]): Record<string, unknown>[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const children: ChildProcess[] = [];
const servers: Served[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const served of servers.splice(0)) await served.close();
});

/** Starts `node app.mjs` in `cwd`; resolves with its port once it prints `listening <port>`, or with its exit. */
function startApp(cwd: string): Promise<{ port?: number; code?: number | null; stderr: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ["app.mjs"], { cwd, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  return new Promise((resolve) => {
    child.stderr?.setEncoding("utf8").on("data", (t: string) => {
      stderr += t;
    });
    child.stdout?.setEncoding("utf8").on("data", (t: string) => {
      stdout += t;
      const match = /listening (\d+)/.exec(stdout);
      if (match) resolve({ port: Number(match[1]), stderr, child });
    });
    child.once("exit", (code) => resolve({ code, stderr, child }));
  });
}

const EXPRESS_APP = `import express from "express";
import { clerkSync, clerkWebhooks } from "./clerk-webhooks.js";

const app = express();
app.post("/api/webhooks", clerkWebhooks);
app.use(express.json());
await clerkSync.ready();
const server = app.listen(0, "127.0.0.1", () => console.log(\`listening \${server.address().port}\`));
process.once("SIGTERM", () => server.close(() => clerkSync.close().then(() => process.exit(0))));
`;

describe("clerk-sync init in a fresh Express project", () => {
  it("writes the module and .gitignore, prints them, changes nothing on a second run, and the app syncs a sent event", async () => {
    const dir = project(
      { name: "fresh-express", type: "module", dependencies: { express: "^5.1.0", "clerk-sync": "^0.1.0" } },
      { "clerk-sync": ROOT, express: join(ROOT, "node_modules", "express") },
    );

    const first = await runCli(["init"], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/created\s+clerk-webhooks\.js/);
    expect(first.stdout).toMatch(/created\s+\.gitignore/);
    const files = snapshot(dir);
    expect(Object.keys(files).sort()).toEqual([".gitignore", "clerk-webhooks.js", "package.json"]);
    expect(files["clerk-webhooks.js"]).toContain('from "clerk-sync/express"');
    expect(files[".gitignore"]?.split("\n")).toEqual(expect.arrayContaining(["clerk-sync.db*", ".env.local"]));

    const second = await initJson(dir);
    expect(second).toMatchObject({
      code: 0,
      framework: "express",
      changes: [
        { path: "clerk-webhooks.js", action: "unchanged" },
        { path: ".gitignore", action: "unchanged" },
      ],
    });
    expect(snapshot(dir)).toEqual(files);

    // The generated module mounted as its comment says; a missing secret fails at start-up.
    writeFileSync(join(dir, "app.mjs"), EXPRESS_APP);
    const noSecret = await startApp(dir);
    expect(noSecret.port).toBeUndefined();
    expect(noSecret.code).not.toBe(0);
    expect(noSecret.stderr).toContain("invalid_config");
    expect(noSecret.stderr).toContain("CLERK_WEBHOOK_SIGNING_SECRET");

    expect((await runCli(["secret"], { cwd: dir })).code).toBe(0);
    const app = await startApp(dir);
    expect(app.stderr).toBe("");
    expect(app.port).toBeGreaterThan(0);
    const sent = await runCli(
      ["send", "user.created", "--id", "user_init_express", "--url", `http://127.0.0.1:${app.port}/api/webhooks`],
      { cwd: dir },
    );
    expect(sent.code).toBe(0);
    expect(rows(join(dir, "clerk-sync.db"), "SELECT id FROM clerk_users")).toEqual([{ id: "user_init_express" }]);
    const exited = new Promise((resolve) => app.child.once("exit", resolve));
    app.child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("keeps a file of the user's that differs (exit 1) and overwrites it only with --force", async () => {
    const dir = project(
      { name: "mine", dependencies: { express: "^5.1.0" } },
      {},
      { "clerk-webhooks.mjs": "// mine\n" },
    );
    const kept = await initJson(dir);
    expect(kept.code).toBe(1);
    expect(kept.changes[0]).toMatchObject({ path: "clerk-webhooks.mjs", action: "kept" });
    expect(readFileSync(join(dir, "clerk-webhooks.mjs"), "utf8")).toBe("// mine\n");
    const forced = await initJson(dir, "--force");
    expect(forced.code).toBe(0);
    expect(forced.changes[0]).toMatchObject({ path: "clerk-webhooks.mjs", action: "overwritten" });
    expect(readFileSync(join(dir, "clerk-webhooks.mjs"), "utf8")).toContain("clerkSyncMiddleware(clerkSync)");
  });
});

const GATED_PROXY = `import { clerkMiddleware } from "@clerk/nextjs/server";

export default clerkMiddleware(async (auth, req) => {
  await auth.protect();
});

export const config = { matcher: ["/((?!_next|[^?]*\\\\.(?:css|js|png|svg|ico)).*)", "/(api|trpc)(.*)"] };
`;

const NEXT_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "esnext",
    moduleResolution: "bundler",
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  },
  include: ["app/**/*.ts"],
};

describe("clerk-sync init in a fresh Next.js project", () => {
  it("writes the route, adds the public-route line to a gating proxy.ts only with --force, and the route syncs a sent event", async () => {
    const dir = project(
      { name: "fresh-next", dependencies: { next: "^16.0.0", "@clerk/nextjs": "^7.0.0", react: "^19.0.0" } },
      { "clerk-sync": ROOT },
      { "tsconfig.json": JSON.stringify(NEXT_TSCONFIG), "proxy.ts": GATED_PROXY, ".gitignore": ".env*\n" },
    );

    const first = await runCli(["init"], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/created\s+app\/api\/webhooks\/route\.ts/);
    expect(first.stdout).toMatch(/manual\s+proxy\.ts/);
    expect(first.stdout).toMatch(/updated\s+\.gitignore/);
    expect(first.stdout).toContain("npm install clerk-sync");
    const files = snapshot(dir);
    expect(files["proxy.ts"]).toBe(GATED_PROXY);
    expect(files[".gitignore"]?.split("\n")).toEqual([
      ".env*",
      "# clerk-sync: the SQLite database and the development secret",
      "clerk-sync.db*",
      "",
    ]);

    const second = await initJson(dir);
    expect(second).toMatchObject({
      code: 0,
      framework: "next",
      changes: [
        { path: "app/api/webhooks/route.ts", action: "unchanged" },
        { path: "proxy.ts", action: "manual" },
        { path: ".gitignore", action: "unchanged" },
      ],
    });
    expect(snapshot(dir)).toEqual(files);

    const forced = await initJson(dir, "--force");
    expect(forced.changes[1]).toMatchObject({ path: "proxy.ts", action: "updated" });
    const proxy = readFileSync(join(dir, "proxy.ts"), "utf8");
    expect(proxy.split("\n").slice(2, 5)).toEqual([
      "export default clerkMiddleware(async (auth, req) => {",
      '  if (req.nextUrl.pathname.startsWith("/api/webhooks")) return; // clerk-sync: Clerk\'s webhooks carry no session; the route checks their signature',
      "  await auth.protect();",
    ]);
    const syntax = ts.transpileModule(proxy, { reportDiagnostics: true, fileName: "proxy.ts" });
    expect(syntax.diagnostics).toEqual([]);
    expect((await initJson(dir)).changes[1]).toMatchObject({ path: "proxy.ts", action: "unchanged" });

    // The route typechecks against the package's published types.
    const tsc = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], {
        cwd: dir,
      });
      let out = "";
      child.stdout.on("data", (t) => {
        out += t;
      });
      child.once("close", (code) => resolve({ code, out }));
    });
    expect(tsc).toEqual({ code: 0, out: "" });

    // And it receives: the generated file itself, behind a server that hands it Web Requests as Next does.
    const secret = generateSecret();
    vi.stubEnv("CLERK_WEBHOOK_SIGNING_SECRET", secret);
    vi.stubEnv("DATABASE_URL", `file:${join(dir, "clerk-sync.db")}`);
    const route = (await import(join(dir, "app/api/webhooks/route.ts"))) as {
      POST(request: Request): Promise<Response>;
    };
    const served = await serveWebHandler(route.POST);
    servers.push(served);
    const sent = await runCli(
      ["send", "user.created", "--id", "user_init_next", "--secret", secret, "--url", `${served.url}/api/webhooks`],
      { cwd: dir },
    );
    expect(sent.code).toBe(0);
    expect(rows(join(dir, "clerk-sync.db"), "SELECT id FROM clerk_users")).toEqual([{ id: "user_init_next" }]);
  });
});

describe("clerk-sync init: detection", () => {
  async function init(dir: string, ...args: string[]) {
    let stdout = "";
    let stderr = "";
    const code = await runCommand(["init", "--json", ...args], {
      cwd: dir,
      env: {},
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
    });
    return {
      code,
      stderr,
      json: stdout ? (JSON.parse(stdout) as { framework: string; changes: InitChange[] }) : undefined,
    };
  }

  it("writes a TypeScript module under src/ for Hono, and refuses a project it cannot place, writing nothing", async () => {
    const hono = project(
      { name: "h", dependencies: { hono: "^4.0.0" }, devDependencies: { typescript: "^5.0.0" } },
      {},
      { "src/index.ts": "" },
    );
    const result = await init(hono);
    expect(result.json?.framework).toBe("hono");
    expect(result.json?.changes[0]).toMatchObject({ path: "src/clerk-webhooks.ts", action: "created" });
    expect(readFileSync(join(hono, "src/clerk-webhooks.ts"), "utf8")).toContain("clerkSyncHono(clerkSync)");

    const none = project({ name: "n", dependencies: { fastify: "^5.0.0" } }, {});
    const refused = await init(none);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("[invalid_config]");
    expect(snapshot(none)).toEqual({ "package.json": readFileSync(join(none, "package.json"), "utf8") });

    const empty = tempDir();
    expect((await init(empty)).stderr).toContain("[invalid_config]");
    expect(readdirSync(empty)).toEqual([]);
  });
});
