// Checks what `npm pack` would publish: the built entry points, the bin and the fixtures.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const [report] = JSON.parse(
  execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" }),
);
const files = new Set(report.files.map((f) => f.path));
const required = [
  "bin/clerk-sync.js",
  "dist/index.js",
  "dist/index.d.ts",
  "dist/core/index.js",
  "dist/store/index.js",
  "dist/adapters/node.js",
  "dist/adapters/node.d.ts",
  "dist/adapters/next.js",
  "dist/adapters/next.d.ts",
  "dist/adapters/express.js",
  "dist/adapters/express.d.ts",
  "dist/adapters/hono.js",
  "dist/adapters/hono.d.ts",
  "dist/testing/index.js",
  "dist/dashboard/index.js",
  "dist/cli/main.js",
  "fixtures/clerk-examples/user.created.json",
  "README.md",
];
// Every file the exports map points at (each subpath's types and code) ships too.
const { exports: exportsMap } = JSON.parse(readFileSync("package.json", "utf8"));
for (const target of Object.values(exportsMap).flatMap((t) => (typeof t === "string" ? [t] : Object.values(t)))) {
  required.push(target.replace(/^\.\//, ""));
}
const missing = [...new Set(required)].filter((f) => !files.has(f));
const stray = [...files].filter((f) => /^(test|bench|src)\//.test(f) || f.endsWith(".db"));
if (missing.length || stray.length) {
  console.error(`npm pack: missing ${JSON.stringify(missing)}; should not ship ${JSON.stringify(stray)}`);
  process.exit(1);
}
console.log(
  `npm pack: ${files.size} files, ${(report.unpackedSize / 1024).toFixed(0)} KiB unpacked, entry points present`,
);
