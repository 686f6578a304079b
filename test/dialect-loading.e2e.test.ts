/**
 * A receiver on PostgreSQL never loads SQLite: each test runs a fresh Node process on the built
 * package (`npm run build` first), imports an adapter as an app would, handles one signed
 * delivery into the local PostgreSQL database, then reports which SQLite code it loaded: the
 * better-sqlite3 package (in `require.cache`) and its native addon (mapped into the process,
 * per /proc/self/maps).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateSecret } from "../src/server/env-files.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { describeTarget, postgresTarget } from "./helpers/databases.js";
import { useTempDirs } from "./helpers/tmp.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/", import.meta.url));
const postgres = await postgresTarget();
const tempDir = useTempDirs("dialect-loading");

/** What the child reports. */
interface Report {
  status: number;
  outcome: string;
  userId: string;
  /** better-sqlite3 files in `require.cache`. */
  sqliteModules: string[];
  /** Whether better_sqlite3.node is mapped into the process. */
  addonMapped: boolean;
}

/** The child process (a plain module, run as an app would run). */
const CHILD = fileURLToPath(new URL("./helpers/receiver-child.mjs", import.meta.url));

function runChild(entry: string, databaseUrl: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, entry, DIST, databaseUrl, generateSecret()], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
    });
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) reject(new Error(`the child exited with ${code}\n--- stderr ---\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as Report);
    });
  });
}

describeTarget(postgres, "a receiver on PostgreSQL loads nothing of SQLite", () => {
  let store: ClerkSyncStore;
  let url: string;
  beforeAll(async () => {
    if (!existsSync(`${DIST}adapters/next.js`)) throw new Error("dist/ is missing: run `npm run build` first");
    store = await postgres.fresh();
    url = postgres.url?.(store) as string;
  });
  afterAll(async () => {
    await store?.close();
  });

  const userRow = (id: string) => store.db.selectFrom("clerk_users").select("id").where("id", "=", id).execute();

  for (const entry of ["express", "next"]) {
    it(`clerk-sync/${entry}: neither the better-sqlite3 package nor its native addon`, async () => {
      const report = await runChild(entry, url);
      expect([report.status, report.outcome]).toEqual([200, "applied"]);
      expect(await userRow(report.userId)).toEqual([{ id: report.userId }]);
      expect(report.sqliteModules).toEqual([]);
      expect(report.addonMapped).toBe(false);
    });
  }

  it("the package root (which exports openSqliteStore): not the native addon", async () => {
    const report = await runChild("root", url);
    expect([report.status, report.outcome]).toEqual([200, "applied"]);
    expect(await userRow(report.userId)).toEqual([{ id: report.userId }]);
    expect(report.addonMapped).toBe(false);
  });

  it("the probes see SQLite when a receiver uses it (a file: URL)", async () => {
    const report = await runChild("next", `file:${tempDir()}/app.db`);
    expect([report.status, report.outcome]).toEqual([200, "applied"]);
    expect(report.sqliteModules.length).toBeGreaterThan(0);
    expect(report.addonMapped).toBe(true);
  });
});
