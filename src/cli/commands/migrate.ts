import { parseArgs } from "node:util";
import { COMMON_OPTIONS, type Command, commonFlags, withConfiguredStore } from "../context.js";

export const migrateCommand: Command = {
  name: "migrate",
  summary: "Create or update clerk-sync's tables (safe to run from several processes at once)",
  usage: "clerk-sync migrate [--database-url file:./clerk-sync.db]",
  async run(ctx) {
    const { values } = parseArgs({ args: ctx.args, options: COMMON_OPTIONS });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const { applied } = await withConfiguredStore(ctx, commonFlags(values), (store) => store.migrate());
    ctx.stdout(applied.length === 0 ? "Already up to date.\n" : `Applied: ${applied.join(", ")}\n`);
    return 0;
  },
};
