import { parseArgs } from "node:util";
import { resolveConfig } from "../../server/config.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { openStore } from "../../store/open.js";
import { COMMON_OPTIONS, type Command, commonFlags } from "../context.js";

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
    const config = resolveConfig(loadEnvFiles(ctx.cwd, ctx.env), commonFlags(values));
    const store = await openStore(config.databaseUrl);
    try {
      const { applied } = await store.migrate();
      ctx.stdout(applied.length === 0 ? "Already up to date.\n" : `Applied: ${applied.join(", ")}\n`);
    } finally {
      await store.close();
    }
    return 0;
  },
};
