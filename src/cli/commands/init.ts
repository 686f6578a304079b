import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { Command } from "../context.js";
import {
  detectProject,
  findProxyFile,
  missingIgnoreLines,
  planProxy,
  routeFile,
  WEBHOOK_PATH,
} from "../project-setup.js";

/**
 * What init did to one file: `created`, `updated` (a line added), `unchanged` (already right),
 * `kept` (exists and differs: not overwritten without --force; exit code 1) or `manual` (a step
 * for you, described in `note`).
 */
export interface InitChange {
  path: string;
  action: "created" | "updated" | "overwritten" | "unchanged" | "kept" | "manual";
  note?: string;
}

export const init: Command = {
  name: "init",
  summary: "Add the webhook route to this Next.js, Express or Hono app (prints every change)",
  usage: `clerk-sync init [--framework next|express|hono] [--force] [--json]
  Detects the framework from package.json and writes the webhook route (Next.js:
  app/api/webhooks/route.ts) or a module to mount (Express, Hono: clerk-webhooks.ts), makes
  ${WEBHOOK_PATH} public in a Next.js proxy.ts/middleware.ts that calls auth.protect() (with
  --force: the file is edited), and adds clerk-sync.db* and .env.local to .gitignore.
  An existing file that differs is never overwritten without --force (exit 1, "kept").`,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: {
        framework: { type: "string" },
        force: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const force = values.force === true;
    const project = detectProject(ctx.cwd, values.framework);
    const changes: InitChange[] = [];
    const abs = (path: string) => join(ctx.cwd, path);

    const route = routeFile(ctx.cwd, project);
    if (!existsSync(abs(route.path))) {
      mkdirSync(dirname(abs(route.path)), { recursive: true });
      writeFileSync(abs(route.path), route.content, { flag: "wx" });
      changes.push({ path: route.path, action: "created" });
    } else if (readFileSync(abs(route.path), "utf8") === route.content) {
      changes.push({ path: route.path, action: "unchanged" });
    } else if (force) {
      writeFileSync(abs(route.path), route.content);
      changes.push({ path: route.path, action: "overwritten" });
    } else {
      changes.push({ path: route.path, action: "kept", note: "exists and differs; --force overwrites it" });
    }

    if (project.framework === "next") {
      const proxy = findProxyFile(ctx.cwd);
      if (proxy !== undefined) {
        const plan = planProxy(readFileSync(abs(proxy), "utf8"));
        if (plan.kind === "public") changes.push({ path: proxy, action: "unchanged", note: plan.reason });
        else if (plan.kind === "insert" && force) {
          writeFileSync(abs(proxy), plan.content);
          changes.push({ path: proxy, action: "updated", note: `added: ${plan.line}` });
        } else {
          changes.push({
            path: proxy,
            action: "manual",
            note: `its auth.protect() would redirect Clerk's webhooks to sign-in; add as the first line of the clerkMiddleware handler${plan.kind === "insert" ? " (or rerun with --force to add it)" : ""}: ${plan.line}`,
          });
        }
      }
    }

    const ignorePath = abs(".gitignore");
    const ignoreText = existsSync(ignorePath) ? readFileSync(ignorePath, "utf8") : undefined;
    const missing = missingIgnoreLines(ignoreText);
    if (missing.length > 0) {
      // Appending never loses a line of the user's, so it needs no --force.
      const prefix = ignoreText !== undefined && ignoreText.length > 0 && !ignoreText.endsWith("\n") ? "\n" : "";
      appendFileSync(
        ignorePath,
        `${prefix}# clerk-sync: the SQLite database and the development secret\n${missing.join("\n")}\n`,
      );
      changes.push({
        path: ".gitignore",
        action: ignoreText === undefined ? "created" : "updated",
        note: `added ${missing.join(", ")}`,
      });
    } else {
      changes.push({ path: ".gitignore", action: "unchanged" });
    }

    const next = nextSteps(project.framework, project.hasClerkSync);
    if (values.json) {
      ctx.stdout(`${JSON.stringify({ framework: project.framework, changes, next }, null, 2)}\n`);
    } else {
      ctx.stdout(`clerk-sync init: ${project.framework} app\n`);
      for (const c of changes) ctx.stdout(`  ${c.action.padEnd(11)} ${c.path}${c.note ? `  (${c.note})` : ""}\n`);
      ctx.stdout(`\nNext:\n${next.map((step, i) => `  ${i + 1}. ${step}\n`).join("")}`);
    }
    return changes.some((c) => c.action === "kept") ? 1 : 0;
  },
};

function nextSteps(framework: string, hasClerkSync: boolean): string[] {
  const steps: string[] = [];
  if (!hasClerkSync) steps.push("npm install clerk-sync");
  if (framework !== "next") {
    steps.push(
      `mount it: app.post("${WEBHOOK_PATH}", clerkWebhooks) before any body parser, and await clerkSync.ready() at start-up (see the comment at the top of the file)`,
    );
  }
  steps.push("npx clerk-sync secret   (a development signing secret in .env.local)");
  steps.push(
    `start your app, then: npx clerk-sync send user.created --url http://localhost:3000${WEBHOOK_PATH}   (your app's port)`,
  );
  steps.push("npx clerk-sync status   (rows per table, the last deliveries)");
  steps.push("real Clerk events: docs/real-clerk-events.md");
  return steps;
}
