import { parseArgs } from "node:util";
import { ClerkSyncError } from "../../core/errors.js";
import { syncHealth, syncStatus } from "../../store/status.js";
import { COMMON_OPTIONS, type Command, commonFlags, withConfiguredStore } from "../context.js";

export const status: Command = {
  name: "status",
  summary: "Show row counts per table, deliveries per status and the last deliveries; --check for monitors",
  usage: `clerk-sync status [--database-url file:./clerk-sync.db] [--last 10] [--json]
clerk-sync status --check [--failed-since 1h] [--max-age 30m] [--json]
  --check         exit 0 when healthy, 2 when not (1: the check itself could not run)
  --failed-since  unhealthy if any delivery failed since then: a duration back from now
                  (30s, 15m, 2h, 1d) or an ISO time (default 1h)
  --max-age       unhealthy if no delivery arrived within this duration (off unless given)`,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: {
        ...COMMON_OPTIONS,
        json: { type: "boolean" },
        last: { type: "string" },
        check: { type: "boolean" },
        "failed-since": { type: "string" },
        "max-age": { type: "string" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    // Flags are checked before the database is opened.
    const now = Date.now();
    const maxAge = values["max-age"];
    const check = values.check
      ? {
          failedSince: pointInTime(values["failed-since"] ?? "1h", now, "--failed-since"),
          receivedSince: maxAge === undefined ? undefined : now - duration(maxAge, "--max-age"),
        }
      : undefined;
    // Opening SQLite would create the file: in a folder with no database, say so and leave none behind.
    const noDatabase = (path: string): number => {
      ctx.stderr(`No database at ${path} yet. Start the service (clerk-sync serve) or run clerk-sync migrate.\n`);
      return 1;
    };
    return withConfiguredStore(
      ctx,
      commonFlags(values),
      async (store) => {
        const pending = await store.pendingMigrations();
        if (pending.length > 0) {
          ctx.stderr(
            `The database is not migrated (pending: ${pending.join(", ")}). Run clerk-sync migrate, or start the service.\n`,
          );
          return 1;
        }
        if (check) {
          const health = await syncHealth(store.db, check);
          if (values.json) ctx.stdout(`${JSON.stringify(health, null, 2)}\n`);
          else
            ctx.stdout(health.healthy ? "healthy\n" : `unhealthy\n${health.problems.map((p) => `  ${p}\n`).join("")}`);
          return health.healthy ? 0 : 2;
        }
        const report = await syncStatus(store.db, { last: values.last ? Number(values.last) : 10 });
        if (values.json) {
          ctx.stdout(`${JSON.stringify(report, null, 2)}\n`);
          return 0;
        }
        ctx.stdout("Tables\n");
        for (const t of report.tables)
          ctx.stdout(
            `  ${t.table.padEnd(30)} ${String(t.rows).padStart(8)} rows  ${t.deleted === null ? "" : `${t.deleted} deleted`}\n`,
          );
        ctx.stdout("Deliveries\n");
        for (const [s, n] of Object.entries(report.deliveries))
          ctx.stdout(`  ${s.padEnd(30)} ${String(n).padStart(8)}\n`);
        ctx.stdout(`Last ${report.last.length} deliveries\n`);
        for (const d of report.last) {
          ctx.stdout(
            `  ${new Date(d.received_at).toISOString()}  ${d.status.padEnd(8)} ${d.type.padEnd(32)} ${d.object_id ?? ""}  ${d.svix_id}${d.delivery_count > 1 ? `  (x${d.delivery_count})` : ""}\n`,
          );
        }
        if (report.runs.length > 0) {
          ctx.stdout("Runs from the Backend API (backfill, reconcile)\n");
          for (const r of report.runs) {
            const counts = Object.entries(r.counts)
              .map(
                ([kind, c]) =>
                  `${kind} +${c.inserted ?? 0} ~${c.updated ?? 0} =${c.unchanged ?? 0} stale ${c.stale ?? 0}`,
              )
              .join(", ");
            ctx.stdout(
              `  ${new Date(r.started_at).toISOString()}  ${r.kind.padEnd(9)} ${r.status.padEnd(8)} ${r.id}  ${counts}${r.error_code ? `  [${r.error_code}]` : ""}\n`,
            );
          }
        }
        return 0;
      },
      noDatabase,
    );
  },
};

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration such as `30s`, `15m`, `2h` or `1d`, in ms. */
export function duration(text: string, flag: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match)
    throw new ClerkSyncError("invalid_config", `${flag} takes a duration such as 30s, 15m, 2h or 1d, got "${text}"`);
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}

/** A duration back from `now`, or an ISO time, in epoch ms. */
export function pointInTime(text: string, now: number, flag: string): number {
  if (/^\d+(s|m|h|d)$/.test(text.trim())) return now - duration(text, flag);
  const at = Date.parse(text);
  if (Number.isNaN(at)) {
    throw new ClerkSyncError(
      "invalid_config",
      `${flag} takes a duration (30s, 15m, 2h, 1d) or an ISO time, got "${text}"`,
    );
  }
  return at;
}
