import { parseArgs } from "node:util";
import { SyncEngine } from "../../core/engine.js";
import { ClerkSyncError } from "../../core/errors.js";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../../core/schema.js";
import { resolveReceiverSettings } from "../../receiver/receiver-settings.js";
import { type ReplaySelection, replayDeliveries } from "../../replay/replay.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { COMMON_OPTIONS, type Command, commonFlags, withConfiguredStore } from "../context.js";
import { pointInTime } from "./status.js";

export const replayCommand: Command = {
  name: "replay",
  summary: "Replay stored deliveries through the engine (failed ones by default; --force re-runs applied ones)",
  usage: `clerk-sync replay <svix-id>… [--database-url …] [--dry-run] [--force] [--json]
clerk-sync replay --status failed [--type user.created] [--since 1h] [--until 2026-01-01T00:00:00Z] [--dry-run] [--force] [--json]
  --status    only deliveries with this status (applied, stale, ignored, failed)
  --type      only deliveries of this event type
  --since     first received at or after: a duration back from now (30s, 15m, 2h, 1d) or an ISO time
  --until     first received before: the same forms
  --dry-run   say what would be replayed; change nothing
  --force     process deliveries already processed once more (the data path only: the CLI runs no hooks)
Exit 0 when every delivery replayed without failing, 1 otherwise.`,
  async run(ctx) {
    const { values, positionals } = parseArgs({
      args: ctx.args,
      allowPositionals: true,
      options: {
        ...COMMON_OPTIONS,
        json: { type: "boolean" },
        "dry-run": { type: "boolean" },
        force: { type: "boolean" },
        status: { type: "string" },
        type: { type: "string" },
        since: { type: "string" },
        until: { type: "string" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    // Flags are checked before the database is opened.
    const now = Date.now();
    const status = values.status;
    if (status !== undefined && !DELIVERY_STATUSES.includes(status as DeliveryStatus)) {
      throw new ClerkSyncError("invalid_filter", `--status takes ${DELIVERY_STATUSES.join(", ")}, got "${status}"`);
    }
    const time = (text: string | undefined, flag: string) => {
      if (text === undefined) return undefined;
      try {
        return pointInTime(text, now, flag);
      } catch (error) {
        throw new ClerkSyncError("invalid_filter", (error as Error).message);
      }
    };
    const selection: ReplaySelection = {
      ...(positionals.length > 0 ? { ids: positionals } : {}),
      status: status as DeliveryStatus | undefined,
      type: values.type,
      since: time(values.since, "--since"),
      until: time(values.until, "--until"),
    };
    const settings = resolveReceiverSettings({}, loadEnvFiles(ctx.cwd, ctx.env));
    return withConfiguredStore(ctx, commonFlags(values), async (store) => {
      const engine = new SyncEngine(store, {
        deleteMode: settings.deleteMode,
        ...(settings.events ? { events: settings.events } : {}),
        attemptsPerDelivery: settings.retention.attemptsPerDelivery,
      });
      const result = await replayDeliveries({ store, engine }, selection, {
        dryRun: values["dry-run"] === true,
        force: values.force === true,
      });
      if (values.json) ctx.stdout(`${JSON.stringify(result, null, 2)}\n`);
      else {
        for (const item of result.items) {
          const error = item.error ? `  [${item.error.code}] ${item.error.message}` : "";
          ctx.stdout(
            `${item.svixId}  ${(item.type ?? "").padEnd(32)} ${item.before ?? "-"} -> ${item.outcome}${error}\n`,
          );
        }
        const counts = Object.entries(result.counts).map(([o, n]) => `${n} ${o}`);
        ctx.stdout(
          `${result.dryRun ? "Dry run: " : ""}${result.items.length} deliveries${counts.length ? `: ${counts.join(", ")}` : ""}\n`,
        );
      }
      return result.items.some((i) => i.error) ? 1 : 0;
    });
  },
};
