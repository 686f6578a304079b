import { parseArgs } from "node:util";
import { syncStatus } from "../../store/status.js";
import { COMMON_OPTIONS, type Command, commonFlags, withConfiguredStore } from "../context.js";

export const status: Command = {
  name: "status",
  summary: "Show row counts per table, deliveries per status and the last deliveries",
  usage: "clerk-sync status [--database-url file:./clerk-sync.db] [--last 10] [--json]",
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: { ...COMMON_OPTIONS, json: { type: "boolean" }, last: { type: "string" } },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    return withConfiguredStore(ctx, commonFlags(values), async (store) => {
      const pending = await store.pendingMigrations();
      if (pending.length > 0) {
        ctx.stderr(
          `The database is not migrated (pending: ${pending.join(", ")}). Run clerk-sync migrate, or start the service.\n`,
        );
        return 1;
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
    });
  },
};
