import { parseArgs } from "node:util";
import { BACKFILL_KINDS, type BackfillKind, type BackfillProgress, backfill } from "../../backfill/backfill.js";
import { ClerkSyncError, isClerkSyncError } from "../../core/errors.js";
import { resolveConfig } from "../../server/config.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { openStore } from "../../store/open.js";
import { CLERK_API_OPTIONS, clerkApiClientFrom, wholeFlag } from "../clerk-api-flags.js";
import { COMMON_OPTIONS, type Command, type CommandContext, commonFlags } from "../context.js";

function kindsOf(positionals: string[]): BackfillKind[] {
  if (positionals.length > 1) {
    throw new ClerkSyncError("invalid_config", `backfill takes one kind, got ${positionals.join(" ")}`);
  }
  const kind = positionals[0] ?? "all";
  if (kind === "all") return [...BACKFILL_KINDS];
  if ((BACKFILL_KINDS as readonly string[]).includes(kind)) return [kind as BackfillKind];
  throw new ClerkSyncError(
    "invalid_config",
    `unknown kind "${kind}": use users, organizations, memberships or all (the default)`,
  );
}

const seconds = (ms: number) =>
  ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;

/** Progress as a bar redrawn in place on a terminal, or a plain line at most every 2 s elsewhere. */
function progressPrinter(ctx: CommandContext, tty: boolean) {
  let kindStart = Date.now();
  let kindStartDone = 0;
  let lastKind: string | null = null;
  let lastLine = 0;
  return {
    update(p: BackfillProgress): void {
      const at = Date.now();
      if (p.kind !== lastKind) {
        if (tty && lastKind !== null) ctx.stderr("\n");
        lastKind = p.kind;
        kindStart = at;
        kindStartDone = p.done;
      }
      const rate = at > kindStart ? ((p.done - kindStartDone) * 1000) / (at - kindStart) : 0;
      const total = p.total ?? 0;
      const left = Math.max(0, total - p.done);
      const eta = rate > 0 && total > 0 ? `ETA ${seconds((left / rate) * 1000)}` : "ETA -";
      const of = p.total === null ? `${p.done}` : `${p.done}/${p.total}`;
      const rateText = `${Math.round(rate)}/s`;
      if (tty) {
        const width = 30;
        const filled = total > 0 ? Math.min(width, Math.round((p.done / total) * width)) : 0;
        const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
        ctx.stderr(`\r\x1b[2K${p.kind.padEnd(13)} [${bar}] ${of}  ${rateText}  ${eta}`);
        return;
      }
      const first = p.pages === 0;
      if (first || at - lastLine >= 2000 || (total > 0 && p.done >= total)) {
        lastLine = at;
        ctx.stderr(`backfill ${p.kind}: ${of} (${rateText}, ${eta})\n`);
      }
    },
    end(): void {
      if (tty && lastKind !== null) ctx.stderr("\n");
      lastKind = null;
    },
  };
}

export const backfillCommand: Command = {
  name: "backfill",
  summary: "Copy every user, organization and membership from Clerk's Backend API (resumable)",
  usage: `clerk-sync backfill [users|organizations|memberships|all] [--database-url file:./clerk-sync.db]
                    [--api-url https://api.clerk.com] [--secret-key sk_…] [--rate-limit 100]
                    [--page-size 500] [--restart] [--json]
  CLERK_API_URL and CLERK_SECRET_KEY (also from .env, .env.local) are the defaults of --api-url and --secret-key.
  --rate-limit: requests per 10 s (default 100, Clerk's development limit; production allows 1000); 0: no pacing.`,
  async run(ctx) {
    const { values, positionals } = parseArgs({
      args: ctx.args,
      allowPositionals: true,
      options: {
        ...COMMON_OPTIONS,
        ...CLERK_API_OPTIONS,
        "page-size": { type: "string" },
        restart: { type: "boolean" },
        json: { type: "boolean" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    try {
      return await runBackfill(ctx, values, positionals);
    } catch (error) {
      if (!isClerkSyncError(error)) throw error;
      ctx.stderr(`clerk-sync backfill: [${error.code}] ${error.message}\n`);
      return 1;
    }
  },
};

async function runBackfill(
  ctx: CommandContext,
  values: {
    "database-url"?: string;
    secret?: string[];
    port?: string;
    "api-url"?: string;
    "secret-key"?: string;
    "rate-limit"?: string;
    "rate-window-ms"?: string;
    "page-size"?: string;
    restart?: boolean;
    json?: boolean;
  },
  positionals: string[],
): Promise<number> {
  const kinds = kindsOf(positionals);
  const pageSize = wholeFlag("page-size", values["page-size"], 500);
  if (pageSize < 1 || pageSize > 500) throw new ClerkSyncError("invalid_config", "--page-size must be from 1 to 500");
  const env = loadEnvFiles(ctx.cwd, ctx.env);
  const config = resolveConfig(env, commonFlags(values));
  const client = clerkApiClientFrom(values, env);
  const store = await openStore(config.databaseUrl);
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130); // a second Ctrl-C: the open transaction rolls back
    abort.abort();
    ctx.stderr("\nStopping after the page being written (Ctrl-C again to stop now; nothing half-done is kept)\n");
  };
  process.on("SIGINT", onSigint);
  const progress = progressPrinter(ctx, ctx.stderrIsTTY === true && !values.json);
  const started = Date.now();
  try {
    await store.migrate();
    const result = await backfill({
      store,
      client,
      kinds,
      pageSize,
      restart: values.restart ?? false,
      hardDelete: config.deleteMode === "hard",
      signal: abort.signal,
      onProgress: (p) => progress.update(p),
    });
    progress.end();
    const durationMs = Date.now() - started;
    if (values.json) {
      ctx.stdout(`${JSON.stringify({ ...result, durationMs }, null, 2)}\n`);
    } else {
      const head = result.status === "done" ? "done" : "stopped (run it again to resume)";
      ctx.stdout(`Backfill ${result.runId} ${head}${result.resumed ? ", resumed" : ""} in ${seconds(durationMs)}\n`);
      ctx.stdout(
        `  ${"".padEnd(14)}${["inserted", "updated", "unchanged", "stale"].map((h) => h.padStart(10)).join("")}\n`,
      );
      for (const [kind, c] of Object.entries(result.counts)) {
        ctx.stdout(
          `  ${kind.padEnd(14)}${[c.inserted, c.updated, c.unchanged, c.stale].map((n) => String(n).padStart(10)).join("")}\n`,
        );
      }
      ctx.stdout(
        `  API: ${result.requests} requests to ${client.apiUrl}, ${result.rateLimited} rate-limited (429) waited out\n`,
      );
    }
    return result.status === "done" ? 0 : 130;
  } finally {
    progress.end();
    process.off("SIGINT", onSigint);
    await store.close();
  }
}
