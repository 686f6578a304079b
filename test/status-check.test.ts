import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCommand } from "../src/cli/main.js";
import { ClerkSyncError } from "../src/core/errors.js";
import type { DeliveryPlan } from "../src/core/store-contract.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { userPlan } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("status-check");
const MINUTE = 60_000;

/** A database with deliveries received at the given ages (minutes ago), some failed. */
async function databaseWith(deliveries: { ageMinutes: number; failed?: boolean }[]): Promise<string> {
  const cwd = tempDir();
  const store = openSqliteStore({ filename: join(cwd, "clerk-sync.db") });
  await store.migrate();
  const now = Date.now();
  const plan = (i: number, ageMinutes: number): DeliveryPlan => {
    const base = userPlan(`user_check_${i}`);
    return { ...base, record: { ...base.record, receivedAt: now - ageMinutes * MINUTE } };
  };
  for (const [i, d] of deliveries.entries()) {
    const [result] = d.failed
      ? await store.applyJobs([
          {
            plan: plan(i, d.ageMinutes),
            beforeFinish: async () => {
              throw new ClerkSyncError("hook_failed", "the app's hook threw");
            },
          },
        ])
      : await store.applyPlans([plan(i, d.ageMinutes)]);
    expect(result?.ok).toBe(!d.failed);
  }
  await store.close();
  return cwd;
}

async function status(cwd: string, args: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCommand(["status", ...args], {
    cwd,
    env: { DATABASE_URL: `file:${join(cwd, "clerk-sync.db")}` },
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

describe("clerk-sync status --check", () => {
  it("exits 0 while recent deliveries all applied", async () => {
    const cwd = await databaseWith([{ ageMinutes: 5 }, { ageMinutes: 1 }]);
    const result = await status(cwd, ["--check", "--max-age", "30m"]);
    expect(result).toMatchObject({ code: 0, stdout: "healthy\n" });
  });

  it("exits 2 when a delivery failed within --failed-since (default 1h), 0 once it is older", async () => {
    const cwd = await databaseWith([{ ageMinutes: 20, failed: true }, { ageMinutes: 1 }]);
    const failing = await status(cwd, ["--check", "--json"]);
    expect(failing.code).toBe(2);
    expect(JSON.parse(failing.stdout)).toMatchObject({ healthy: false, failed: 1 });
    expect((await status(cwd, ["--check", "--failed-since", "10m"])).code).toBe(0);
    const since = new Date(Date.now() - 30 * MINUTE).toISOString();
    expect((await status(cwd, ["--check", "--failed-since", since])).code).toBe(2);
  });

  it("exits 2 when no delivery arrived within --max-age, and on an empty log", async () => {
    const stale = await databaseWith([{ ageMinutes: 120 }]);
    expect((await status(stale, ["--check", "--max-age", "30m"])).code).toBe(2);
    expect((await status(stale, ["--check", "--max-age", "3h"])).code).toBe(0);
    expect((await status(stale, ["--check"])).code).toBe(0);
    const empty = await databaseWith([]);
    expect((await status(empty, ["--check", "--max-age", "1d"])).code).toBe(2);
  });

  it("refuses a malformed duration with invalid_config before opening the database", async () => {
    const cwd = tempDir();
    for (const args of [
      ["--max-age", "30 minutes"],
      ["--failed-since", "yesterday"],
    ]) {
      const result = await status(cwd, ["--check", ...args]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("[invalid_config]");
    }
    expect(existsSync(join(cwd, "clerk-sync.db"))).toBe(false);
  });
});
