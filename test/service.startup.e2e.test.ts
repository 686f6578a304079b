/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process.
 *
 * This file: start-up against a database that cannot be opened or reached ends in one coded line
 * and exit code 69 (EX_UNAVAILABLE), never in a stack trace, and without the URL's password.
 */
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { EXIT_STORE_UNAVAILABLE } from "../src/cli/commands/serve.js";
import { generateSecret } from "../src/server/env-files.js";
import { makeTempDir, runCli } from "./helpers/service-process.js";

const UNREACHABLE = {
  "PostgreSQL refusing connections": "postgres://clerk:hunter2-secret@127.0.0.1:1/x",
  "MySQL refusing connections": "mysql://root:hunter2-secret@127.0.0.1:1/x",
  "a SQLite file in a directory that does not exist": `file:${join(makeTempDir(), "missing", "dir", "x.db")}`,
};

describe.concurrent("clerk-sync serve against a database it cannot open", () => {
  for (const [name, url] of Object.entries(UNREACHABLE)) {
    test(`${name}: a coded store_unavailable line, exit 69, no stack trace, no password`, async () => {
      const result = await runCli(
        ["serve", "--host", "127.0.0.1", "--port", "0", "--secret", generateSecret(), "--database-url", url],
        { cwd: makeTempDir(), timeoutMs: 25_000 },
      );
      expect(result.code).toBe(EXIT_STORE_UNAVAILABLE);
      expect(result.stderr).toMatch(/^clerk-sync serve: .*\[store_unavailable\]\n$/);
      const logged = result.stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { msg: string; code?: string });
      expect(logged).toContainEqual(expect.objectContaining({ msg: "start failed", code: "store_unavailable" }));
      const output = result.stdout + result.stderr;
      expect(output).not.toMatch(/\n\s+at /);
      expect(output).not.toContain("hunter2-secret");
    });
  }
});
