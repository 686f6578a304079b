import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, parseEnv } from "node:util";
import { ClerkSyncError } from "../../core/errors.js";
import { ENV_FILES, saveDevelopmentSecret } from "../../server/env-files.js";
import type { Command, CommandContext } from "../context.js";

/** The variables a signing secret is read from, in order (as every receiver reads them). */
const SECRET_VARIABLES = ["CLERK_WEBHOOK_SIGNING_SECRET", "SIGNING_SECRET"] as const;

/** Where the configured secret comes from: the environment, else the last `.env` file that sets it. */
function configuredSecret(ctx: CommandContext): { value: string; variable: string; source: string } | undefined {
  for (const variable of SECRET_VARIABLES) {
    const value = ctx.env[variable];
    if (value !== undefined && value.trim() !== "") return { value: value.trim(), variable, source: "the environment" };
  }
  const files = [...ENV_FILES].reverse(); // .env.local overrides .env
  for (const variable of SECRET_VARIABLES) {
    for (const name of files) {
      const path = join(ctx.cwd, name);
      if (!existsSync(path)) continue;
      const value = parseEnv(readFileSync(path, "utf8"))[variable];
      if (value !== undefined && value.trim() !== "") return { value: value.trim(), variable, source: name };
    }
  }
  return undefined;
}

export const secret: Command = {
  name: "secret",
  summary: "Show the signing secret, or create a development one in .env.local (as serve does)",
  usage: `clerk-sync secret
  Prints the configured signing secret (CLERK_WEBHOOK_SIGNING_SECRET from the environment,
  .env.local or .env) on stdout; when there is none, creates a development secret, saves it to
  .env.local (readable by you only, 0600) and prints it. stdout holds the secret alone:
    export CLERK_WEBHOOK_SIGNING_SECRET=$(npx clerk-sync secret)
  Refuses to create one when NODE_ENV=production: use your endpoint's secret from the Clerk Dashboard.`,
  async run(ctx) {
    const { values } = parseArgs({ args: ctx.args, options: { help: { type: "boolean", short: "h" } } });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const found = configuredSecret(ctx);
    if (found) {
      // stderr says where it comes from, never the value: stdout is the one place it is printed.
      ctx.stderr(`${found.variable} from ${found.source}\n`);
      ctx.stdout(`${found.value}\n`);
      return 0;
    }
    if (ctx.env.NODE_ENV === "production") {
      throw new ClerkSyncError(
        "invalid_config",
        "No signing secret, and NODE_ENV=production: set CLERK_WEBHOOK_SIGNING_SECRET to your endpoint's secret (Clerk Dashboard > Webhooks > your endpoint > Signing Secret)",
      );
    }
    const { secret: created, tightened } = saveDevelopmentSecret(ctx.cwd);
    ctx.stderr(
      "Created a development signing secret and saved it to .env.local as CLERK_WEBHOOK_SIGNING_SECRET" +
        (tightened ? " (.env.local was readable by others: it is now readable by you only, 0600)" : " (0600)") +
        ". The service, your app's receiver and `clerk-sync send` read it from there. For real Clerk events use your endpoint's secret instead.\n",
    );
    ctx.stdout(`${created}\n`);
    return 0;
  },
};
