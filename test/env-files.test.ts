import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadEnvFiles, saveDevelopmentSecret } from "../src/server/env-files.js";

describe("the development secret in .env.local", () => {
  const dirs: string[] = [];
  const dir = () => {
    const made = mkdtempSync(join(tmpdir(), "clerk-sync-env-"));
    dirs.push(made);
    return made;
  };
  afterEach(() => {
    for (const made of dirs.splice(0)) rmSync(made, { recursive: true, force: true });
  });

  it("creates .env.local readable by its owner only", () => {
    const cwd = dir();
    const { secret, tightened } = saveDevelopmentSecret(cwd);
    expect(tightened).toBe(false);
    expect(statSync(join(cwd, ".env.local")).mode & 0o777).toBe(0o600);
    expect(loadEnvFiles(cwd, {}).CLERK_WEBHOOK_SIGNING_SECRET).toBe(secret);
  });

  it("appends to an existing .env.local others can read, keeps its lines, and makes it 0600", () => {
    const cwd = dir();
    const path = join(cwd, ".env.local");
    writeFileSync(path, "DATABASE_URL=file:./app.db");
    chmodSync(path, 0o644);
    const { secret, tightened } = saveDevelopmentSecret(cwd);
    expect(tightened).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8").startsWith("DATABASE_URL=file:./app.db\n")).toBe(true);
    expect(loadEnvFiles(cwd, {})).toMatchObject({
      DATABASE_URL: "file:./app.db",
      CLERK_WEBHOOK_SIGNING_SECRET: secret,
    });
  });

  it("leaves an existing owner-only .env.local's mode as it is", () => {
    const cwd = dir();
    const path = join(cwd, ".env.local");
    writeFileSync(path, "A=1\n");
    chmodSync(path, 0o400 | 0o200);
    expect(saveDevelopmentSecret(cwd).tightened).toBe(false);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe("loadEnvFiles: .env, then .env.local, then the environment", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const made of dirs.splice(0)) rmSync(made, { recursive: true, force: true });
  });

  it(".env.local overrides .env; a variable already set overrides both; unset ones are read from the files", () => {
    const cwd = mkdtempSync(join(tmpdir(), "clerk-sync-env-"));
    dirs.push(cwd);
    writeFileSync(join(cwd, ".env"), "A=from-env\nB=from-env\nC=from-env\nD=from-env\n");
    writeFileSync(join(cwd, ".env.local"), "B=from-local\nC=from-local\n");
    const merged = loadEnvFiles(cwd, { C: "from-process", E: "from-process", F: undefined });
    expect(merged).toEqual({ A: "from-env", B: "from-local", C: "from-process", D: "from-env", E: "from-process" });
  });

  it("reads either file alone, and neither", () => {
    const onlyLocal = mkdtempSync(join(tmpdir(), "clerk-sync-env-"));
    const none = mkdtempSync(join(tmpdir(), "clerk-sync-env-"));
    dirs.push(onlyLocal, none);
    writeFileSync(join(onlyLocal, ".env.local"), "DATABASE_URL=file:./local.db\n");
    expect(loadEnvFiles(onlyLocal, {})).toEqual({ DATABASE_URL: "file:./local.db" });
    expect(loadEnvFiles(none, { X: "1" })).toEqual({ X: "1" });
  });
});
