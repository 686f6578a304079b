/**
 * The set-up commands: `secret` (the built CLI as a process, so that what reaches stdout and
 * stderr is what a user sees), `status` in a folder with no database, and `send` against a
 * route that answers a redirect (as a route behind clerkMiddleware's auth.protect() does).
 * The process tests need `npm run -s build` first.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { describe, expect, it } from "vitest";
import { runCommand } from "../src/cli/main.js";
import { generateSecret } from "../src/server/env-files.js";
import { listening } from "./helpers/http-servers.js";
import { runCli } from "./helpers/service-process.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("cli-setup");

async function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const code = await runCommand(args, {
    cwd,
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

describe("clerk-sync secret", () => {
  it("creates a development secret in a 0600 .env.local and prints it on stdout only", async () => {
    const cwd = tempDir();
    const created = await runCli(["secret"], { cwd });
    expect(created.code).toBe(0);
    const file = join(cwd, ".env.local");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = parseEnv(readFileSync(file, "utf8")).CLERK_WEBHOOK_SIGNING_SECRET as string;
    expect(saved).toMatch(/^whsec_[A-Za-z0-9+/=]+$/);
    expect(created.stdout).toBe(`${saved}\n`);
    expect(created.stderr).not.toContain(saved);
    expect(created.stderr).not.toContain(saved.slice("whsec_".length));

    // Run again: the same secret is shown, nothing is added to the file.
    const before = readFileSync(file, "utf8");
    const shown = await runCli(["secret"], { cwd });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(`${saved}\n`);
    expect(shown.stderr).not.toContain(saved.slice("whsec_".length));
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("shows a secret set in the environment or in .env without writing any file", async () => {
    const cwd = tempDir();
    const fromEnv = generateSecret();
    const shown = await runCli(["secret"], { cwd, env: { CLERK_WEBHOOK_SIGNING_SECRET: fromEnv } });
    expect(shown).toMatchObject({ code: 0, stdout: `${fromEnv}\n` });
    expect(shown.stderr).not.toContain(fromEnv.slice("whsec_".length));
    expect(readdirSync(cwd)).toEqual([]);

    const inDotEnv = generateSecret();
    writeFileSync(join(cwd, ".env"), `SIGNING_SECRET=${inDotEnv}\n`);
    const fromFile = await run(["secret"], cwd);
    expect(fromFile).toMatchObject({ code: 0, stdout: `${inDotEnv}\n` });
    expect(existsSync(join(cwd, ".env.local"))).toBe(false);
  });

  it("refuses to create one under NODE_ENV=production, writing nothing", async () => {
    const cwd = tempDir();
    const refused = await run(["secret"], cwd, { NODE_ENV: "production" });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("[invalid_config]");
    expect(refused.stdout).toBe("");
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe("clerk-sync status in a folder with no database", () => {
  it("says there is none and leaves no file behind", async () => {
    const cwd = tempDir();
    for (const args of [["status"], ["status", "--json"], ["status", "--check"]]) {
      const result = await runCli(args, { cwd });
      expect(result.code).toBe(1);
      expect(readdirSync(cwd)).toEqual([]);
    }
  });
});

describe("clerk-sync send to a route that redirects", () => {
  it("stops at the 3xx with a coded error naming the proxy line, and follows nothing", async () => {
    const requests: string[] = [];
    const served = await listening(
      createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        req.resume();
        // What clerkMiddleware's auth.protect() answers a request without a session.
        res.writeHead(307, { location: "https://sign-in.clerk-sync-test.invalid/sign-in?redirect_url=x" }).end();
      }).listen(0, "127.0.0.1"),
    );
    try {
      const cwd = tempDir();
      const result = await run(["send", "user.created", "--url", `${served.url}/api/webhooks`], cwd, {
        CLERK_WEBHOOK_SIGNING_SECRET: generateSecret(),
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("[invalid_config]");
      expect(result.stderr).toContain("proxy.ts");
      expect(requests).toEqual(["POST /api/webhooks"]);
    } finally {
      await served.close();
    }
  });
});
