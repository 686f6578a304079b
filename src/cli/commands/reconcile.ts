import { parseArgs } from "node:util";
import { ClerkSyncError } from "../../core/errors.js";
import { RECONCILE_KINDS, type ReconcileKind, reconcile } from "../../reconcile/reconcile.js";
import { resolveConfig } from "../../server/config.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { CLERK_API_OPTIONS, clerkApiClientFrom } from "../clerk-api-flags.js";
import { COMMON_OPTIONS, type Command, commonFlags, withConfiguredStore } from "../context.js";

/** Differences listed one per line before the rest are only counted. */
const LISTED = 50;

export const reconcileCommand: Command = {
  name: "reconcile",
  summary: "Compare the mirror with Clerk's Backend API; --apply repairs what differs",
  usage: `clerk-sync reconcile [users|organizations|memberships|all] [--apply] [--json]
                    [--database-url …] [--api-url https://api.clerk.com] [--secret-key sk_…] [--rate-limit 100]
  Reads CLERK_SECRET_KEY and CLERK_API_URL (also from .env / .env.local). A dry run by default:
  exits 0 when nothing differs, 2 when something does (1: it could not run). With --apply it
  repairs through the sync rules and exits 0. A row counts as deleted in Clerk only after a read
  of that object answers 404. --rate-limit: requests per 10 s (Clerk: 100 development, 1000
  production; 0: no pacing).`,
  async run(ctx) {
    const { values, positionals } = parseArgs({
      args: ctx.args,
      allowPositionals: true,
      options: {
        ...COMMON_OPTIONS,
        apply: { type: "boolean" },
        json: { type: "boolean" },
        ...CLERK_API_OPTIONS,
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const kinds = reconcileKinds(positionals);
    const env = loadEnvFiles(ctx.cwd, ctx.env);
    const client = clerkApiClientFrom(values, env);
    const { deleteMode } = resolveConfig(env, commonFlags(values));
    return withConfiguredStore(ctx, commonFlags(values), async (store) => {
      const pending = await store.pendingMigrations();
      if (pending.length > 0) {
        ctx.stderr(`The database is not migrated (pending: ${pending.join(", ")}). Run clerk-sync migrate first.\n`);
        return 1;
      }
      const report = await reconcile({
        store,
        client,
        kinds,
        apply: values.apply ?? false,
        hard: deleteMode === "hard",
      });
      if (values.json) {
        ctx.stdout(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        ctx.stdout(
          `${report.applied ? "Reconciled (repairs applied)" : "Reconciliation (dry run: nothing written)"}\n`,
        );
        for (const k of report.kinds) {
          ctx.stdout(
            `  ${k.kind.padEnd(12)} listed ${k.listed}, confirmed one by one ${k.confirmed}: ` +
              `${k.missing} missing, ${k.stale} stale, ${k.deleted} deleted in Clerk\n`,
          );
        }
        for (const d of report.differences.slice(0, LISTED)) {
          const repaired = d.repaired === undefined ? "" : `  → ${d.repaired}`;
          ctx.stdout(`  ${d.problem.padEnd(8)} ${d.kind.padEnd(12)} ${d.id}${repaired}\n`);
        }
        if (report.differences.length > LISTED)
          ctx.stdout(`  … and ${report.differences.length - LISTED} more (--json lists all)\n`);
        ctx.stdout(
          `  ${report.requests} requests to the Backend API, ${report.rateLimited} rate-limited and waited out\n`,
        );
      }
      return report.applied || report.differences.length === 0 ? 0 : 2;
    });
  },
};

function reconcileKinds(positionals: readonly string[]): readonly ReconcileKind[] {
  if (positionals.length === 0 || positionals.includes("all")) return RECONCILE_KINDS;
  for (const p of positionals) {
    if (!(RECONCILE_KINDS as readonly string[]).includes(p)) {
      throw new ClerkSyncError(
        "invalid_config",
        `reconcile compares users, organizations, memberships or all, not "${p}"`,
      );
    }
  }
  return positionals as ReconcileKind[];
}
