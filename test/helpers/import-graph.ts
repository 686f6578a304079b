/**
 * The import graph of a source tree, and a checker for folder boundaries and import cycles.
 * Used by test/boundaries.test.ts on src/, and by its unit part on small in-memory trees.
 *
 * Imports are read from the TypeScript syntax tree, so text that only looks like an import (in a
 * comment, a string, a template literal) is never counted.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, posix, relative, sep } from "node:path";
import ts from "typescript";

/** Source files by path relative to the repository root, with `/` separators (`src/core/verify.ts`). */
export type SourceTree = ReadonlyMap<string, string>;

/** How a module is named in a file. */
export type ImportKind =
  /** `import … from "x"`, `import "x"` */
  | "import"
  /** `export … from "x"` */
  | "export"
  /** `import("x")` with a literal */
  | "dynamic"
  /** `typeof import("x")` and other import types */
  | "import-type"
  /** `require("x")`, `import x = require("x")` */
  | "require";

export interface ImportRef {
  specifier: string;
  kind: ImportKind;
  /** 1-based line of the specifier. */
  line: number;
  /** Erased by the compiler (`import type`, `export type`, an import type). */
  typeOnly: boolean;
}

/** What a specifier resolves to. */
export type ImportTarget =
  | { kind: "file"; path: string }
  | { kind: "package"; name: string }
  | { kind: "builtin"; name: string }
  | { kind: "unresolved" };

/**
 * One boundary: files under `in` (less `except`) must not import the `packages` nor the files
 * under `files` (less `allowFiles`). A path ending in `/` is a folder (every file below it),
 * otherwise one file. A package is an exact name (subpaths included: "hono" covers "hono/cors")
 * or a scope, "@hono/*".
 */
export interface BoundaryRule {
  id: string;
  in: readonly string[];
  except?: readonly string[];
  packages?: readonly string[];
  files?: readonly string[];
  allowFiles?: readonly string[];
  /** Why the boundary exists; printed with each violation. */
  why: string;
}

export interface Violation {
  /** A rule's id, or "unresolved" for a relative import that names no file of the tree. */
  rule: string;
  file: string;
  line: number;
  specifier: string;
  typeOnly: boolean;
  why: string;
}

export interface Cycle {
  /** The files of one strongly connected component, sorted: the key an allow-list names. */
  files: string[];
  /** One concrete loop through the component, first file repeated at the end. */
  path: string[];
}

/** A violation that is known and being removed: the same rule, file and specifier. */
export interface AllowedViolation {
  rule: string;
  file: string;
  specifier: string;
  why: string;
}

/** A cycle that is known and being removed: exactly these files. */
export interface AllowedCycle {
  files: readonly string[];
  why: string;
}

const SOURCE = /\.(?:ts|tsx|mts|cts)$/;
const DECLARATION = /\.d\.(?:ts|mts|cts)$/;
const BUILTINS = new Set(builtinModules);

/** Plain code-unit order: the same on every machine, whatever its locale. */
const byPath = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Reads every TypeScript source file under `dir` (relative to `root`), declarations excluded. */
export function readSourceTree(root: string, dir: string): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (absolute: string) => {
    for (const entry of readdirSync(absolute, { withFileTypes: true })) {
      const path = join(absolute, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && SOURCE.test(entry.name) && !DECLARATION.test(entry.name)) {
        tree.set(relative(root, path).split(sep).join("/"), readFileSync(path, "utf8"));
      }
    }
  };
  walk(join(root, dir));
  return tree;
}

/** Every module a file names: static and type imports, re-exports, literal `import()` and `require()`. */
export function parseImports(path: string, text: string): ImportRef[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: ImportRef[] = [];
  const add = (literal: ts.Node, kind: ImportKind, typeOnly: boolean) => {
    if (!ts.isStringLiteralLike(literal)) return;
    const line = source.getLineAndCharacterOfPosition(literal.getStart(source)).line + 1;
    found.push({ specifier: literal.text, kind, line, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // `import { type A } from "x"` stays a runtime import under verbatimModuleSyntax: only
      // `import type` is erased.
      add(node.moduleSpecifier, "import", node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      add(node.moduleSpecifier, "export", node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, "require", node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, "import-type", true);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const [first] = node.arguments;
      if (node.expression.kind === ts.SyntaxKind.ImportKeyword && first) add(first, "dynamic", false);
      else if (ts.isIdentifier(node.expression) && node.expression.text === "require" && first) {
        add(first, "require", false);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The package a bare specifier names: "pg", "@hono/node-server", "hono" for "hono/cors". */
export function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/**
 * Resolves a specifier of `from` as NodeNext does for this project: relative paths name `.js`
 * (or `.mjs`, `.cjs`) files whose sources are `.ts` (`.mts`, `.cts`); a path without an extension
 * or a folder is tried as a file, then as its `index`.
 */
export function resolveImport(tree: SourceTree, from: string, specifier: string): ImportTarget {
  if (specifier.startsWith("node:")) return { kind: "builtin", name: specifier };
  if (!specifier.startsWith(".") && !specifier.startsWith("/")) {
    const name = packageName(specifier);
    return BUILTINS.has(name) ? { kind: "builtin", name } : { kind: "package", name };
  }
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const stem = base.replace(/\.(?:js|jsx|mjs|cjs|ts|tsx|mts|cts)$/, "");
  const candidates = [
    ...(/\.m[jt]s$/.test(base) ? [`${stem}.mts`] : /\.c[jt]s$/.test(base) ? [`${stem}.cts`] : []),
    `${stem}.ts`,
    `${stem}.tsx`,
    base,
    `${base}/index.ts`,
  ];
  const path = candidates.find((candidate) => tree.has(candidate));
  return path ? { kind: "file", path } : { kind: "unresolved" };
}

/** True when `path` is the file `pattern` or lies in the folder `pattern` (ending in `/`). */
export function under(path: string, pattern: string): boolean {
  return pattern.endsWith("/") ? path.startsWith(pattern) : path === pattern;
}

function matchesPackage(name: string, pattern: string): boolean {
  return pattern.endsWith("/*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/** Breaks of `rules` in `tree`, in file order; relative imports that name no file are reported too. */
export function checkRules(tree: SourceTree, rules: readonly BoundaryRule[]): Violation[] {
  const violations: Violation[] = [];
  for (const [file, text] of [...tree].sort(([a], [b]) => byPath(a, b))) {
    const applicable = rules.filter(
      (rule) => rule.in.some((p) => under(file, p)) && !(rule.except ?? []).some((p) => under(file, p)),
    );
    for (const ref of parseImports(file, text)) {
      const target = resolveImport(tree, file, ref.specifier);
      const at = { file, line: ref.line, specifier: ref.specifier, typeOnly: ref.typeOnly };
      if (target.kind === "unresolved") {
        violations.push({ rule: "unresolved", ...at, why: "a relative import that names no file of the tree" });
        continue;
      }
      for (const rule of applicable) {
        const broken =
          target.kind === "package"
            ? (rule.packages ?? []).some((p) => matchesPackage(target.name, p))
            : target.kind === "file" &&
              (rule.files ?? []).some((p) => under(target.path, p)) &&
              !(rule.allowFiles ?? []).some((p) => under(target.path, p));
        if (broken) violations.push({ rule: rule.id, ...at, why: rule.why });
      }
    }
  }
  return violations;
}

/** File → files it imports (every kind, type-only included), within the tree. */
export function importGraph(tree: SourceTree): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [file, text] of tree) {
    const edges = new Set<string>();
    for (const ref of parseImports(file, text)) {
      const target = resolveImport(tree, file, ref.specifier);
      if (target.kind === "file") edges.add(target.path);
    }
    graph.set(file, edges);
  }
  return graph;
}

/**
 * The import cycles of a tree: each strongly connected component of more than one file (or a file
 * that imports itself), with one loop through it to print. Type-only imports count: a cycle of
 * types is still two modules that cannot be understood, moved or published one without the other.
 */
export function findCycles(tree: SourceTree): Cycle[] {
  const graph = importGraph(tree);
  const files = [...graph.keys()].sort(byPath);
  // Tarjan's algorithm, iterative so that a long chain of imports cannot overflow the stack.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const root of files) {
    if (index.has(root)) continue;
    const work: { file: string; edges: string[]; at: number }[] = [];
    const open = (file: string) => {
      index.set(file, next);
      low.set(file, next);
      next++;
      stack.push(file);
      onStack.add(file);
      work.push({ file, edges: [...(graph.get(file) ?? [])].sort(byPath), at: 0 });
    };
    open(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.at < frame.edges.length) {
        const to = frame.edges[frame.at++]!;
        if (!index.has(to)) open(to);
        else if (onStack.has(to)) low.set(frame.file, Math.min(low.get(frame.file)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.file, Math.min(low.get(parent.file)!, low.get(frame.file)!));
      if (low.get(frame.file) === index.get(frame.file)) {
        const component: string[] = [];
        let file: string | undefined;
        do {
          file = stack.pop()!;
          onStack.delete(file);
          component.push(file);
        } while (file !== frame.file);
        components.push(component.sort(byPath));
      }
    }
  }
  return components
    .filter((c) => c.length > 1 || graph.get(c[0]!)?.has(c[0]!))
    .map((c) => ({ files: c, path: loopThrough(graph, c) }))
    .sort((a, b) => byPath(a.files[0]!, b.files[0]!));
}

/** The shortest loop from the component's first file back to it, staying inside the component. */
function loopThrough(graph: Map<string, Set<string>>, component: string[]): string[] {
  const start = component[0]!;
  const inside = new Set(component);
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const to of [...(graph.get(file) ?? [])].sort(byPath)) {
      if (!inside.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let at = file; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(to)) {
        cameFrom.set(to, file);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

export interface BoundaryReport {
  violations: Violation[];
  cycles: Cycle[];
  /** Allow-list entries that no longer match anything: remove them. */
  stale: string[];
}

/** Checks rules and cycles, and sets aside what the allow-lists name (reporting entries that match nothing). */
export function checkBoundaries(
  tree: SourceTree,
  rules: readonly BoundaryRule[],
  allowed: { violations?: readonly AllowedViolation[]; cycles?: readonly AllowedCycle[] } = {},
): BoundaryReport {
  const allowedViolations = allowed.violations ?? [];
  const allowedCycles = allowed.cycles ?? [];
  const sameViolation = (a: AllowedViolation, v: Violation) =>
    a.rule === v.rule && a.file === v.file && a.specifier === v.specifier;
  const cycleKey = (files: readonly string[]) => [...files].sort(byPath).join(" ");
  const allViolations = checkRules(tree, rules);
  const allCycles = findCycles(tree);
  return {
    violations: allViolations.filter((v) => !allowedViolations.some((a) => sameViolation(a, v))),
    cycles: allCycles.filter((c) => !allowedCycles.some((a) => cycleKey(a.files) === cycleKey(c.files))),
    stale: [
      ...allowedViolations
        .filter((a) => !allViolations.some((v) => sameViolation(a, v)))
        .map((a) => `allowed violation no longer occurs: ${a.file} imports "${a.specifier}" (${a.rule})`),
      ...allowedCycles
        .filter((a) => !allCycles.some((c) => cycleKey(c.files) === cycleKey(a.files)))
        .map((a) => `allowed cycle no longer occurs: ${cycleKey(a.files)}`),
    ],
  };
}

/** One line per violation: `src/core/x.ts:3 imports "pg" (type-only) — core-no-drivers: why`. */
export function formatViolation(v: Violation): string {
  return `${v.file}:${v.line} imports "${v.specifier}"${v.typeOnly ? " (type-only)" : ""} — ${v.rule}: ${v.why}`;
}

/** One line per cycle: `import cycle: a.ts → b.ts → a.ts (files: a.ts, b.ts)`. */
export function formatCycle(c: Cycle): string {
  return `import cycle: ${c.path.join(" → ")}${c.files.length > c.path.length - 1 ? ` (all files: ${c.files.join(", ")})` : ""}`;
}
