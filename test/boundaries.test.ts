/**
 * The folder boundaries of DESIGN.md ("Components"), checked on every file under src/: what each
 * layer may import, where the database drivers may be imported, and no import cycles.
 *
 * Why a test and not Biome's `noRestrictedImports`: that rule matches the text of a specifier, not
 * the file it names, so "nothing from src/store/" would have to be spelt once per folder depth
 * (`../store/**`, `../../store/**`, …) and a moved folder would silently switch a rule off. It
 * does not see `typeof import("pg")`, and its `noImportCycles` skips type-only imports by default
 * (the cycle listed below is type-only). Here each import is resolved to a file, one row covers
 * every depth, the known breaks are a commented list instead of suppression comments in src/,
 * and the unit part below proves that every rule fires.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  type AllowedCycle,
  type AllowedViolation,
  type BoundaryRule,
  checkBoundaries,
  checkRules,
  findCycles,
  formatCycle,
  formatViolation,
  parseImports,
  readSourceTree,
  type SourceTree,
} from "./helpers/import-graph.js";

const FRAMEWORKS = ["express", "hono", "@hono/*", "next"];
const DRIVERS = ["pg", "mysql2", "better-sqlite3"];

/**
 * The rules. Paths ending in "/" are folders. Type-only imports (`import type`, `typeof
 * import("pg")`) count like any other: a type import of an optional peer (pg, mysql2) ends up in
 * the published .d.ts, so users without that driver would fail to type-check. Today's code needs
 * no exception: its only type imports of a driver are inside that driver's own folder.
 */
const RULES: readonly BoundaryRule[] = [
  {
    id: "core-no-framework-or-driver",
    in: ["src/core/"],
    packages: [...FRAMEWORKS, ...DRIVERS, "kysely"],
    why: "the core speaks Request/Response and the store contract only: no framework, no driver, no query builder",
  },
  {
    id: "core-is-the-inner-layer",
    in: ["src/core/"],
    // Every other folder of src/ builds on the core; so do the composition root (src/receiver/) and
    // the package entry (index.ts), which both import the store.
    files: ["src/"],
    allowFiles: ["src/core/"],
    why: "from src/ the core imports only src/core/ (store, adapters, server, cli and the composition root build on it)",
  },
  {
    id: "adapters-use-the-store-entry",
    in: ["src/adapters/"],
    files: ["src/store/"],
    allowFiles: ["src/store/index.ts"],
    why: "an adapter may use the store only through its public entry, src/store/index.ts",
  },
  {
    id: "adapters-below-server-and-cli",
    in: ["src/adapters/"],
    files: ["src/server/", "src/cli/"],
    why: "adapters are thin translations; the standalone service and the CLI build on them, not the reverse",
  },
  {
    id: "store-below-adapters-server-cli",
    in: ["src/store/"],
    files: ["src/adapters/", "src/server/", "src/cli/", "src/receiver/", "src/index.ts"],
    why: "the store knows nothing of HTTP, the service, the CLI or the composition root",
  },
  {
    id: "receiver-below-adapters-server-cli",
    in: ["src/receiver/"],
    files: ["src/adapters/", "src/server/", "src/cli/", "src/index.ts"],
    why: "the composition root builds receivers for the adapters and the service, which build on it",
  },
  {
    id: "dashboard-below-server-and-cli",
    in: ["src/dashboard/"],
    files: ["src/adapters/", "src/server/", "src/cli/", "src/index.ts"],
    why: "the dashboard is a node:http handler over a store (and a receiver): the service and the CLI mount it, not the reverse",
  },
  {
    id: "sqlite-stands-alone",
    in: ["src/store/sqlite/"],
    files: ["src/store/postgres/", "src/store/mysql/", "src/store/sql/"],
    why: "the SQLite store shares no code with the network dialects or their Kysely store (src/store/sql/)",
  },
  {
    id: "postgres-apart-from-other-dialects",
    in: ["src/store/postgres/"],
    files: ["src/store/mysql/", "src/store/sqlite/"],
    why: "dialect folders do not import each other; what PostgreSQL and MySQL share lives in src/store/sql/",
  },
  {
    id: "mysql-apart-from-other-dialects",
    in: ["src/store/mysql/"],
    files: ["src/store/postgres/", "src/store/sqlite/"],
    why: "dialect folders do not import each other; what PostgreSQL and MySQL share lives in src/store/sql/",
  },
  {
    id: "shared-store-code-is-dialect-neutral",
    in: ["src/store/sql/", "src/store/write/", "src/store/schema/"],
    // The dialect folders import the shared code, never the reverse (src/store/open.ts and
    // src/store/index.ts, which choose or list the dialects, are outside this rule).
    files: ["src/store/sqlite/", "src/store/postgres/", "src/store/mysql/"],
    why: "the code every dialect shares must not depend on one of them",
  },
  {
    id: "orm-schema-is-text-from-the-contract",
    in: ["src/orm-schema/"],
    // Pure functions from the table contract (core/schema.ts) to text: no store, no ORM, no driver.
    files: ["src/"],
    allowFiles: ["src/core/", "src/orm-schema/"],
    packages: [...FRAMEWORKS, ...DRIVERS, "kysely", "drizzle-orm", "drizzle-orm/*", "prisma", "@prisma/*"],
    why: "the ORM schemas are generated from the table contract alone, as text: they import src/core/ and nothing that runs a query",
  },
  {
    id: "simulate-is-a-client",
    in: ["src/simulate/"],
    // A local Svix: it signs and sends over HTTP, and reads a mirror through the store's entry
    // points; it knows nothing of the service, the CLI, the adapters or the composition root.
    files: ["src/server/", "src/cli/", "src/adapters/", "src/receiver/", "src/index.ts"],
    why: "the simulator is a sender and a reader of the mirror, like any client: users point it at their own receiver",
  },
  {
    id: "better-sqlite3-only-in-sqlite",
    in: ["src/"],
    except: ["src/store/sqlite/"],
    packages: ["better-sqlite3"],
    why: "each driver is imported only inside its own dialect folder",
  },
  {
    id: "pg-only-in-postgres",
    in: ["src/"],
    // src/store/sql/ (the Kysely store PostgreSQL and MySQL share) does not import pg today.
    except: ["src/store/postgres/"],
    packages: ["pg"],
    why: "each driver is imported only inside its own dialect folder (pg is an optional peer dependency)",
  },
  {
    id: "mysql2-only-in-mysql",
    in: ["src/"],
    except: ["src/store/mysql/"],
    packages: ["mysql2"],
    why: "each driver is imported only inside its own dialect folder (mysql2 is an optional peer dependency)",
  },
  {
    id: "metrics-and-log-libraries-only-in-server",
    in: ["src/"],
    except: ["src/server/"],
    packages: ["prom-client", "pino"],
    why: "the service's metrics and logs are its own: the core reports through SyncObserver and Logger, in-app receivers load neither",
  },
  {
    id: "frameworks-only-in-adapters",
    in: ["src/"],
    except: ["src/adapters/"],
    packages: FRAMEWORKS,
    why: "frameworks are optional peer dependencies that only their adapter may load",
  },
];

/**
 * Known breaks that another engineer is removing. Keep the test strict: an entry hides exactly one
 * rule/file/specifier, and an entry that no longer matches fails the test until it is deleted.
 * The integrator empties these lists as the fixes land.
 */
const KNOWN_VIOLATIONS: readonly AllowedViolation[] = [];

const KNOWN_CYCLES: readonly AllowedCycle[] = [];

const ROOT = fileURLToPath(new URL("..", import.meta.url));

describe("src/ keeps its boundaries", () => {
  const tree = readSourceTree(ROOT, "src");
  const report = checkBoundaries(tree, RULES, { violations: KNOWN_VIOLATIONS, cycles: KNOWN_CYCLES });

  test("the checker reads the real tree: every file, and each kind of import", () => {
    // Guards against a vacuous pass (a wrong root, a parser that finds nothing).
    expect(tree.size).toBeGreaterThan(40);
    const refs = [...tree].flatMap(([file, text]) => parseImports(file, text));
    expect(refs.length).toBeGreaterThan(150);
    const kinds = new Set(refs.map((r) => r.kind));
    for (const kind of ["import", "export", "dynamic", "import-type"] as const) expect(kinds).toContain(kind);
    expect(refs.some((r) => r.typeOnly && r.kind === "import")).toBe(true);
  });

  test("no import breaks a layer or dialect rule", () => {
    const lines = report.violations.map(formatViolation);
    expect(lines, `boundary violations:\n${lines.join("\n")}`).toEqual([]);
  });

  test("no import cycle between files of src/", () => {
    const lines = report.cycles.map(formatCycle);
    expect(lines, `import cycles:\n${lines.join("\n")}`).toEqual([]);
  });

  test("every allow-list entry still matches something (else delete it)", () => {
    expect(report.stale, report.stale.join("\n")).toEqual([]);
  });
});

/** A tree from `{ path: source }`. */
const treeOf = (files: Record<string, string>): SourceTree => new Map(Object.entries(files));
/** The violations of a tree as `rule file "specifier"` lines. */
const brokenRules = (files: Record<string, string>) =>
  checkRules(treeOf(files), RULES).map((v) => `${v.rule} ${v.file} "${v.specifier}"${v.typeOnly ? " type" : ""}`);

describe("the checker finds what it must (small in-memory trees)", () => {
  test("a core file importing pg breaks the core rule and the driver rule", () => {
    expect(brokenRules({ "src/core/engine.ts": 'import pg from "pg";\n' })).toEqual([
      'core-no-framework-or-driver src/core/engine.ts "pg"',
      'pg-only-in-postgres src/core/engine.ts "pg"',
    ]);
  });

  test("prom-client or pino outside src/server/ breaks the metrics-and-logs rule; inside it does not", () => {
    expect(
      brokenRules({
        "src/core/handler.ts": 'import { Counter } from "prom-client";\n',
        "src/receiver/create-clerk-sync.ts": 'import pino from "pino";\n',
        "src/server/metrics.ts": 'import { Registry } from "prom-client";\nimport pino from "pino";\n',
      }),
    ).toEqual([
      'metrics-and-log-libraries-only-in-server src/core/handler.ts "prom-client"',
      'metrics-and-log-libraries-only-in-server src/receiver/create-clerk-sync.ts "pino"',
    ]);
  });

  test("an adapter importing a store internal breaks; the store's public entry does not", () => {
    expect(
      brokenRules({
        "src/adapters/next.ts": [
          'import { openSqliteStore } from "../store/sqlite/sqlite-store.js";',
          'import { openStore } from "../store/index.js";',
        ].join("\n"),
        "src/store/sqlite/sqlite-store.ts": "export const openSqliteStore = 1;\n",
        "src/store/index.ts": "export const openStore = 1;\n",
      }),
    ).toEqual(['adapters-use-the-store-entry src/adapters/next.ts "../store/sqlite/sqlite-store.js"']);
  });

  test("a two-file cycle is found and printed with both files", () => {
    const cycles = findCycles(
      treeOf({
        "src/core/a.ts": 'import type { B } from "./b.js";\nexport type A = B[];\n',
        "src/core/b.ts": 'import type { A } from "./a.js";\nexport type B = A | string;\n',
        "src/core/c.ts": 'import type { A } from "./a.js";\n',
      }),
    );
    expect(cycles).toEqual([
      { files: ["src/core/a.ts", "src/core/b.ts"], path: ["src/core/a.ts", "src/core/b.ts", "src/core/a.ts"] },
    ]);
    expect(formatCycle(cycles[0]!)).toBe("import cycle: src/core/a.ts → src/core/b.ts → src/core/a.ts");
  });

  test("a longer cycle, a self-import, and no cycle in a diamond", () => {
    const cycles = findCycles(
      treeOf({
        "src/x/a.ts": 'export * from "./b.js";',
        "src/x/b.ts": 'export { c } from "../y/c.js";',
        "src/y/c.ts": 'import "../x/a.js"; export const c = 1;',
        "src/self.ts": 'import "./self.js";',
        "src/d/top.ts": 'import "./left.js"; import "./right.js";',
        "src/d/left.ts": 'import "./bottom.js";',
        "src/d/right.ts": 'import "./bottom.js";',
        "src/d/bottom.ts": "export {};",
      }),
    );
    expect(cycles.map((c) => c.path)).toEqual([
      ["src/self.ts", "src/self.ts"],
      ["src/x/a.ts", "src/x/b.ts", "src/y/c.ts", "src/x/a.ts"],
    ]);
  });

  test("every rule of the table fires on an example made from its own row", () => {
    // For each rule: a file in its first folder importing its first forbidden package or file.
    for (const rule of RULES) {
      const inFolder = rule.in[0]!;
      const importer = inFolder.endsWith("/") ? `${inFolder}importer.ts` : inFolder;
      const files: Record<string, string> = {};
      let specifier: string;
      if (rule.packages?.length) {
        specifier = rule.packages[0]!.replace("/*", "/some-package");
      } else {
        const target = rule.files![0]!;
        const path = target.endsWith("/") ? `${target}target.ts` : target;
        files[path] = "export {};\n";
        specifier = relativeSpecifier(importer, path);
      }
      files[importer] = `import type { X } from "${specifier}";\n`;
      const found = checkRules(treeOf(files), RULES).filter((v) => v.rule === rule.id);
      expect(found, `${rule.id} did not fire on ${importer} → ${specifier}`).toEqual([
        { rule: rule.id, file: importer, line: 1, specifier, typeOnly: true, why: rule.why },
      ]);
    }
  });

  test("the ORM schema generators: the contract yes; the store, drizzle-orm and kysely no", () => {
    expect(
      brokenRules({
        "src/orm-schema/drizzle.ts": [
          'import { TABLES } from "../core/schema.js";',
          'import { banner } from "./names.js";',
          'import { MYSQL } from "../store/mysql/mysql-dialect.js";',
          'import { sqliteTable } from "drizzle-orm/sqlite-core";',
          'import type { Kysely } from "kysely";',
        ].join("\n"),
        "src/orm-schema/names.ts": "export const banner = 1;\n",
        "src/core/schema.ts": "export const TABLES = {};\n",
        "src/store/mysql/mysql-dialect.ts": "export const MYSQL = 1;\n",
      }),
    ).toEqual([
      'orm-schema-is-text-from-the-contract src/orm-schema/drizzle.ts "../store/mysql/mysql-dialect.js"',
      'orm-schema-is-text-from-the-contract src/orm-schema/drizzle.ts "drizzle-orm/sqlite-core"',
      'orm-schema-is-text-from-the-contract src/orm-schema/drizzle.ts "kysely" type',
    ]);
  });

  test("dialect folders: sqlite ↛ sql/, postgres ↛ mysql/, shared ↛ dialects; dialects → sql/ is fine", () => {
    expect(
      brokenRules({
        "src/store/sqlite/sqlite-store.ts": 'import { x } from "../sql/sql-store.js";',
        "src/store/postgres/postgres-store.ts":
          'import { x } from "../sql/sql-store.js";\nimport "../mysql/mysql-dialect.js";',
        "src/store/mysql/mysql-dialect.ts": 'import { SQLITE } from "../sqlite/sqlite-dialect.js";',
        "src/store/sql/sql-store.ts":
          'export const x = 1;\nexport { POSTGRES } from "../postgres/postgres-dialect.js";',
        "src/store/postgres/postgres-dialect.ts": "export const POSTGRES = 1;",
        "src/store/sqlite/sqlite-dialect.ts": "export const SQLITE = 1;",
      }),
    ).toEqual([
      'mysql-apart-from-other-dialects src/store/mysql/mysql-dialect.ts "../sqlite/sqlite-dialect.js"',
      'postgres-apart-from-other-dialects src/store/postgres/postgres-store.ts "../mysql/mysql-dialect.js"',
      'shared-store-code-is-dialect-neutral src/store/sql/sql-store.ts "../postgres/postgres-dialect.js"',
      'sqlite-stands-alone src/store/sqlite/sqlite-store.ts "../sql/sql-store.js"',
    ]);
  });

  test("drivers: each in its own folder only, type-only imports included; subpaths and scopes match", () => {
    expect(
      brokenRules({
        "src/store/sqlite/sqlite-store.ts": 'import Database from "better-sqlite3";',
        "src/store/postgres/postgres-store.ts": 'type Pg = typeof import("pg");\nconst m = await import("pg");',
        "src/store/sql/sql-store.ts": 'import type { Pool } from "pg";',
        "src/server/service.ts": 'import type Database from "better-sqlite3";\nimport { cors } from "hono/cors";',
        "src/adapters/hono.ts": 'import type { Hono } from "hono";\nimport { serve } from "@hono/node-server";',
        "src/cli/main.ts": 'const mysql = require("mysql2/promise");',
      }),
    ).toEqual([
      'mysql2-only-in-mysql src/cli/main.ts "mysql2/promise"',
      'better-sqlite3-only-in-sqlite src/server/service.ts "better-sqlite3" type',
      'frameworks-only-in-adapters src/server/service.ts "hono/cors"',
      'pg-only-in-postgres src/store/sql/sql-store.ts "pg" type',
    ]);
  });

  test("deeper folders and index files resolve to the same targets", () => {
    expect(
      brokenRules({
        "src/core/deep/nested/x.ts": 'import { y } from "../../../store/write";\nimport "../../../server/index.js";',
        "src/store/write/index.ts": "export const y = 1;",
        "src/server/index.ts": "export {};",
      }),
    ).toEqual([
      'core-is-the-inner-layer src/core/deep/nested/x.ts "../../../store/write"',
      'core-is-the-inner-layer src/core/deep/nested/x.ts "../../../server/index.js"',
    ]);
  });

  test("only real imports count: not text in comments, strings or templates; node: built-ins are fine", () => {
    const text = [
      'import { createHmac } from "node:crypto";',
      'import { readFileSync } from "fs";',
      '// import pg from "pg";',
      '/* export * from "../store/index.js"; */',
      'const code = `import("better-sqlite3")`;',
      "const note = 'require(\"mysql2\")';",
      "export const used = [createHmac, readFileSync, code, note];",
    ].join("\n");
    expect(parseImports("src/core/verify.ts", text).map((r) => r.specifier)).toEqual(["node:crypto", "fs"]);
    expect(brokenRules({ "src/core/verify.ts": text })).toEqual([]);
  });

  test("a relative import that names no file is reported, not skipped", () => {
    expect(brokenRules({ "src/core/a.ts": 'import "./missing.js";' })).toEqual([
      'unresolved src/core/a.ts "./missing.js"',
    ]);
  });

  test("allow-lists hide exactly their entries, and an entry that matches nothing is reported stale", () => {
    const files = treeOf({
      "src/core/a.ts": 'import "pg";\nimport "./b.js";',
      "src/core/b.ts": 'import "./a.js";',
    });
    const report = checkBoundaries(files, RULES, {
      violations: [
        { rule: "pg-only-in-postgres", file: "src/core/a.ts", specifier: "pg", why: "test" },
        { rule: "pg-only-in-postgres", file: "src/core/gone.ts", specifier: "pg", why: "test" },
      ],
      cycles: [
        { files: ["src/core/b.ts", "src/core/a.ts"], why: "test" },
        { files: ["src/core/a.ts", "src/core/c.ts"], why: "test" },
      ],
    });
    // The core rule still fires on the same import: an entry names one rule only.
    expect(report.violations.map(formatViolation)).toEqual([
      `src/core/a.ts:1 imports "pg" — core-no-framework-or-driver: ${RULES[0]!.why}`,
    ]);
    expect(report.cycles).toEqual([]);
    expect(report.stale).toEqual([
      'allowed violation no longer occurs: src/core/gone.ts imports "pg" (pg-only-in-postgres)',
      "allowed cycle no longer occurs: src/core/a.ts src/core/c.ts",
    ]);
  });
});

/** The relative specifier (`../store/x.js`) from one file of the tree to another. */
function relativeSpecifier(from: string, to: string): string {
  const fromParts = from.split("/").slice(0, -1);
  const toParts = to.split("/");
  let common = 0;
  while (common < fromParts.length && fromParts[common] === toParts[common]) common++;
  const up = fromParts.length - common;
  const rest = toParts.slice(common).join("/").replace(/\.ts$/, ".js");
  return up === 0 ? `./${rest}` : `${"../".repeat(up)}${rest}`;
}
