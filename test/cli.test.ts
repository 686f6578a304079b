import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCommand } from "../src/cli/main.js";
import { CLERK_EVENT_TYPES } from "../src/core/events.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("cli");

async function run(args: string[], env: Record<string, string> = {}) {
  const cwd = tempDir();
  let stdout = "";
  let stderr = "";
  const code = await runCommand(args, {
    cwd,
    env: { DATABASE_URL: `file:${join(cwd, "cli.db")}`, ...env },
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr, cwd };
}

describe("cli", () => {
  it("prints help and refuses unknown commands with exit code 2", async () => {
    expect((await run(["--help"])).code).toBe(0);
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("serve");
  });

  it("lists every event type", async () => {
    const { code, stdout } = await run(["send", "--list"]);
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toEqual([...CLERK_EVENT_TYPES]);
  });

  it("refuses an unknown event type and a bad option as usage errors", async () => {
    expect((await run(["send", "user.exploded"])).code).toBe(2);
    expect((await run(["send", "user.created", "--bogus"])).code).toBe(2);
  });

  it("migrates, then reports status as JSON; status on a fresh database says to migrate", async () => {
    const fresh = await run(["status"]);
    expect(fresh.code).toBe(1);
    const cwd = tempDir();
    const env = { DATABASE_URL: `file:${join(cwd, "x.db")}` };
    expect((await run(["migrate"], env)).stdout).toContain("0001_users_and_deliveries");
    expect((await run(["migrate"], env)).stdout).toContain("up to date");
    const status = await run(["status", "--json"], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ deliveries: { total: 0, applied: 0 }, last: [] });
  });

  it("reports bad configuration as a coded error", async () => {
    const result = await run(["migrate"], { DATABASE_URL: "redis://localhost" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[invalid_config]");
    const port = await run(["send", "user.created", "--secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], {
      PORT: "abc",
    });
    expect(port.code).toBe(1);
    expect(port.stderr).toContain("[invalid_config]");
  });

  it("send without any secret says how to get one", async () => {
    const result = await run(["send", "user.created"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("[invalid_config]");
  });
});
