/**
 * The dashboard from the built CLI (`npm run -s build` first): `serve --dashboard` mounts it at
 * /dashboard with a development token created in .env.local, `CLERK_SYNC_DASHBOARD=true` does the
 * same, NODE_ENV=production without a token refuses to start (invalid_config), and
 * `clerk-sync dashboard` serves it alone over a database another receiver wrote.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { freshExample } from "../src/testing/fixtures.js";
import {
  BIN,
  cleanEnv,
  cleanupServiceProcesses,
  makeTempDir,
  runCli,
  startServiceProcess,
} from "./helpers/service-process.js";

afterAll(cleanupServiceProcesses);

/** Signs in with `token` as the form does; answers the session cookie. */
async function signIn(base: string, token: string): Promise<string> {
  const response = await fetch(`${base}/dashboard/login`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: base, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }),
  });
  expect(response.status).toBe(303);
  return (response.headers.get("set-cookie") ?? "").split(";", 1)[0] as string;
}

describe("clerk-sync serve --dashboard", () => {
  it("creates a development token in .env.local, prints it, and serves the dashboard with it", async () => {
    const service = await startServiceProcess({ args: ["--dashboard"] });
    const saved = parseEnv(readFileSync(join(service.cwd, ".env.local"), "utf8")).CLERK_SYNC_DASHBOARD_TOKEN ?? "";
    expect(saved.length).toBeGreaterThanOrEqual(16);
    expect(service.stderr).toContain(saved);
    expect(service.stdout).not.toContain(saved); // the JSON logs never hold it
    const refused = await fetch(`${service.url}/dashboard`);
    expect([refused.status, refused.headers.get("clerk-sync-error-code")]).toEqual([401, "unauthorized"]);
    const delivered = await service.post(freshExample("user.created"));
    expect(delivered.status).toBe(200);
    const cookie = await signIn(service.url, saved);
    const page = await fetch(`${service.url}/dashboard/deliveries`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("user.created");
    await service.stop();
  });

  it("is off by default (404) and on with CLERK_SYNC_DASHBOARD=true and a token", async () => {
    const off = await startServiceProcess();
    expect((await fetch(`${off.url}/dashboard`)).status).toBe(404);
    await off.stop();
    const token = "a-token-of-my-own-0123456789";
    const on = await startServiceProcess({ env: { CLERK_SYNC_DASHBOARD: "true", CLERK_SYNC_DASHBOARD_TOKEN: token } });
    expect((await fetch(`${on.url}/dashboard`, { headers: { cookie: await signIn(on.url, token) } })).status).toBe(200);
    await on.stop();
  });

  it("refuses to start without a token when NODE_ENV=production: invalid_config, exit 1", async () => {
    const cwd = makeTempDir();
    const result = await runCli(
      ["serve", "--dashboard", "--port", "0", "--database-url", `file:${join(cwd, "x.db")}`],
      {
        cwd,
        env: { NODE_ENV: "production", CLERK_WEBHOOK_SIGNING_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[invalid_config]");
    expect(result.stderr).toContain("CLERK_SYNC_DASHBOARD_TOKEN");
  });
});

describe("clerk-sync dashboard", () => {
  it("serves the dashboard alone over the database a receiver wrote", async () => {
    const service = await startServiceProcess();
    expect((await service.post(freshExample("organization.created"))).status).toBe(200);
    const token = "standalone-token-0123456789";
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, "dashboard", "--port", "0", "--database-url", `file:${service.dbPath}`],
      { cwd: service.cwd, env: cleanEnv({ CLERK_SYNC_DASHBOARD_TOKEN: token }), stdio: ["ignore", "pipe", "pipe"] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let err = "";
        child.stderr?.setEncoding("utf8").on("data", (t: string) => {
          err += t;
          const found = /(http:\/\/[^\s]+)\/dashboard/.exec(err);
          if (found?.[1]) resolve(found[1]);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      const page = await fetch(`${url}/dashboard/deliveries`, { headers: { cookie: await signIn(url, token) } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("organization.created");
      const root = await fetch(url, { redirect: "manual" });
      expect([root.status, root.headers.get("location")]).toEqual([303, "/dashboard"]);
    } finally {
      child.kill("SIGTERM");
      await service.stop();
    }
  });
});
