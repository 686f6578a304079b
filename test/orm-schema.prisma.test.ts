// The generated Prisma models (test/generated/prisma-*.prisma) pass Prisma's own validation, for
// each provider. `prisma validate` runs Prisma's schema engine compiled to WASM, shipped in the
// `prisma` package: nothing is downloaded. The CLI still checks at start that the native schema
// engine binary is present (and would download it); PRISMA_SCHEMA_ENGINE_BINARY names one so it
// does not look: validate never launches it. Needs the `prisma` devDependency (skipped without
// it locally, failing under CI); TEST_PRISMA_BIN points at another install.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { prismaDatasource } from "../src/orm-schema/index.js";
import { useTempDirs } from "./helpers/tmp.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PRISMA = process.env.TEST_PRISMA_BIN ?? join(ROOT, "node_modules", ".bin", "prisma");
const IN_CI = process.env.CI === "true" || process.env.CI === "1";
const run = promisify(execFile);

const ENV = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  CHECKPOINT_DISABLE: "1",
};

async function validate(schema: string, dir: string): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, "schema.prisma");
  writeFileSync(file, schema);
  try {
    const { stdout, stderr } = await run(PRISMA, ["validate", "--schema", file], { cwd: dir, env: ENV });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` };
  }
}

const DIALECTS = ["sqlite", "postgres", "mysql"] as const;
const available = existsSync(PRISMA);

if (!available && IN_CI) {
  describe("prisma validate", () => {
    it("finds the prisma CLI", () => {
      throw new Error(`${PRISMA} is missing (CI=true: the prisma devDependency must be installed)`);
    });
  });
} else {
  describe.skipIf(!available)(`prisma validate${available ? "" : ` [skipped: ${PRISMA} is missing]`}`, () => {
    const tempDir = useTempDirs("orm-prisma");

    it.each(DIALECTS)("accepts the %s models", async (dialect) => {
      const models = readFileSync(new URL(`./generated/prisma-${dialect}.prisma`, import.meta.url), "utf8");
      const { ok, output } = await validate(`${prismaDatasource(dialect)}\n${models}`, tempDir());
      expect(output).toContain("is valid");
      expect(ok).toBe(true);
    });

    it("refuses a broken schema (the validator really runs)", async () => {
      const models = readFileSync(new URL("./generated/prisma-postgres.prisma", import.meta.url), "utf8");
      const broken = models.replace('@@map("clerk_users")', '@@map("clerk_users")\n  @@index([noSuchField])');
      expect(broken).not.toBe(models);
      const { ok, output } = await validate(`${prismaDatasource("postgres")}\n${broken}`, tempDir());
      expect(ok).toBe(false);
      expect(output).toContain("P1012");
    });
  });
}
