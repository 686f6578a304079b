/**
 * What `clerk-sync init` writes into an app: the framework found in its package.json, the
 * webhook route (or module) for it, the line that keeps the route out of `clerkMiddleware`'s
 * `auth.protect()`, and the `.gitignore` lines for the database and the secret. Pure planning
 * and small file edits; the command (`commands/init.ts`) prints the outcome.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ClerkSyncError } from "../core/errors.js";

export const FRAMEWORKS = ["next", "express", "hono"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** The webhook path, as in Clerk's guide and the service. */
export const WEBHOOK_PATH = "/api/webhooks";

/** What the project is, as read from its files. */
export interface Project {
  framework: Framework;
  typescript: boolean;
  /** package.json says `"type": "module"`: plain `.js` files are ES modules. */
  esm: boolean;
  hasSrc: boolean;
  hasClerkSync: boolean;
}

/** Reads package.json in `dir` and detects the framework (Next.js before Hono before Express). */
export function detectProject(dir: string, forced?: string): Project {
  const path = join(dir, "package.json");
  if (!existsSync(path)) {
    throw new ClerkSyncError("invalid_config", `No package.json in ${dir}: run clerk-sync init in your app's folder`);
  }
  let pkg: { type?: unknown; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new ClerkSyncError("invalid_config", `${path} is not valid JSON`, { cause });
  }
  const deps = { ...pkg.devDependencies, ...pkg.dependencies };
  let framework: Framework | undefined;
  if (forced !== undefined) {
    if (!(FRAMEWORKS as readonly string[]).includes(forced)) {
      throw new ClerkSyncError("invalid_config", `--framework must be ${FRAMEWORKS.join(", ")}, got "${forced}"`);
    }
    framework = forced as Framework;
  } else {
    framework = FRAMEWORKS.find((name) => deps[name] !== undefined);
  }
  if (!framework) {
    throw new ClerkSyncError(
      "invalid_config",
      "package.json depends on none of next, express, hono: pass --framework next|express|hono",
    );
  }
  return {
    framework,
    typescript: existsSync(join(dir, "tsconfig.json")) || deps.typescript !== undefined,
    esm: pkg.type === "module",
    hasSrc: existsSync(join(dir, "src")),
    hasClerkSync: deps["clerk-sync"] !== undefined,
  };
}

/** A file `init` writes whole. */
export interface PlannedFile {
  path: string;
  content: string;
}

const HEADER = `// Written by \`clerk-sync init\`. Clerk's webhooks, verified on their raw body and mirrored into your
// database: DATABASE_URL (default: the SQLite file ./clerk-sync.db), signing secret from
// CLERK_WEBHOOK_SIGNING_SECRET (\`npx clerk-sync secret\` creates a development one in .env.local).
// Refused and failed deliveries are logged on the console. See clerk-sync's docs/adapters/.
`;

/** The route file (Next.js) or the module to mount (Express, Hono). */
export function routeFile(dir: string, project: Project): PlannedFile {
  if (project.framework === "next") {
    const appDir = existsSync(join(dir, "src", "app")) ? "src/app" : "app";
    return {
      path: `${appDir}/api/webhooks/route.${project.typescript ? "ts" : "js"}`,
      content: `${HEADER}import { createClerkSyncRoute } from "clerk-sync/next";\n\nexport const { POST } = createClerkSyncRoute();\n`,
    };
  }
  const ext = project.typescript ? "ts" : project.esm ? "js" : "mjs";
  const base = `${project.hasSrc ? "src/" : ""}clerk-webhooks.${ext}`;
  const importExt = ext === "ts" ? "js" : ext;
  const mount =
    project.framework === "express"
      ? `//   app.post("${WEBHOOK_PATH}", clerkWebhooks); // before express.json() and before requireAuth()`
      : `//   app.post("${WEBHOOK_PATH}", clerkWebhooks); // before any middleware that reads the body or requires a session`;
  const make = project.framework === "express" ? "clerkSyncMiddleware" : "clerkSyncHono";
  return {
    path: base,
    content: `${HEADER}//
// Mount it in your app:
//   import { clerkSync, clerkWebhooks } from "./clerk-webhooks.${importExt}";
${mount}
//   await clerkSync.ready(); // at start-up: a missing secret or database fails now, not on the first delivery
import { existsSync } from "node:fs";
import { ${make}, createClerkSync } from "clerk-sync/${project.framework}";

// .env.local then .env (variables already set win), as Next.js and \`clerk-sync send\` read them.
for (const file of [".env.local", ".env"]) if (existsSync(file)) process.loadEnvFile(file);

export const clerkSync = createClerkSync();
export const clerkWebhooks = ${make}(clerkSync);
`,
  };
}

/** The proxy (Next.js 16) or middleware file of a Next.js app, if it has one. */
export function findProxyFile(dir: string): string | undefined {
  for (const folder of ["", "src/"])
    for (const name of ["proxy", "middleware"])
      for (const ext of ["ts", "js", "mjs"]) {
        const path = `${folder}${name}.${ext}`;
        if (existsSync(join(dir, path))) return path;
      }
  return undefined;
}

/** The line that lets the webhook route past `auth.protect()`, for a request named `request`. */
export function publicRouteLine(request: string): string {
  return `if (${request}.nextUrl.pathname.startsWith("${WEBHOOK_PATH}")) return; // clerk-sync: Clerk's webhooks carry no session; the route checks their signature`;
}

/** What to do to a proxy file so that the webhook route is reachable. */
export type ProxyPlan =
  | { kind: "public"; reason: string }
  | { kind: "insert"; content: string; line: string }
  | { kind: "manual"; line: string };

const HANDLER = /clerkMiddleware\(\s*(?:async\s*)?\(\s*(\w+)\s*,\s*(\w+)\s*(?::[^)]*)?\)\s*(?::[^=]*)?=>\s*\{/;

/**
 * Plans the change to a proxy file: none when the webhook path is already named or nothing calls
 * `protect()`; else the public-route line inserted as the first statement of the
 * `clerkMiddleware(async (auth, request) => { … })` handler, or, for a shape not recognised, the
 * line for the user to add.
 */
export function planProxy(text: string): ProxyPlan {
  if (text.includes(WEBHOOK_PATH)) return { kind: "public", reason: `it already names ${WEBHOOK_PATH}` };
  if (!/\bprotect\s*\(/.test(text)) {
    return { kind: "public", reason: "its clerkMiddleware protects no route (no auth.protect())" };
  }
  const match = HANDLER.exec(text);
  if (!match) return { kind: "manual", line: publicRouteLine("request") };
  const line = publicRouteLine(match[2] as string);
  const at = match.index + match[0].length;
  const lineEnd = text.indexOf("\n", at);
  const next = lineEnd < 0 ? "" : (/^\s*/.exec(text.slice(lineEnd + 1))?.[0] ?? "");
  const indent = next.replace(/\n/g, "") || "  ";
  return { kind: "insert", line, content: `${text.slice(0, at)}\n${indent}${line}${text.slice(at)}` };
}

/** `.gitignore` lines init makes sure of, each with the patterns that already cover it. */
const IGNORED = [
  { line: "clerk-sync.db*", coveredBy: ["clerk-sync.db*", "*.db*"] },
  { line: ".env.local", coveredBy: [".env.local", ".env*", ".env*.local", "*.local", ".env.*"] },
] as const;

/** The lines to append to `.gitignore` (its current text, or undefined when there is none). */
export function missingIgnoreLines(text: string | undefined): string[] {
  const lines = new Set((text ?? "").split(/\r?\n/).map((l) => l.trim()));
  return IGNORED.filter((entry) => !entry.coveredBy.some((pattern) => lines.has(pattern))).map((e) => e.line);
}
