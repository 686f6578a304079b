import { isClerkSyncError } from "../core/errors.js";
import { backfillCommand } from "./commands/backfill.js";
import { dashboardCommand } from "./commands/dashboard.js";
import { fakeClerk } from "./commands/fake-clerk.js";
import { init } from "./commands/init.js";
import { migrateCommand } from "./commands/migrate.js";
import { reconcileCommand } from "./commands/reconcile.js";
import { replayCommand } from "./commands/replay.js";
import { schemaCommand } from "./commands/schema.js";
import { secret } from "./commands/secret.js";
import { send } from "./commands/send.js";
import { serve } from "./commands/serve.js";
import { simulateCommand } from "./commands/simulate.js";
import { status } from "./commands/status.js";
import type { Command, CommandContext } from "./context.js";

export const COMMANDS: readonly Command[] = [
  serve,
  init,
  secret,
  migrateCommand,
  send,
  status,
  replayCommand,
  dashboardCommand,
  backfillCommand,
  reconcileCommand,
  fakeClerk,
  schemaCommand,
  simulateCommand,
];

function help(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`);
  return `clerk-sync: keep your database in sync with Clerk\n\nUsage: clerk-sync <command> [options]\n\n${lines.join("\n")}\n\nRun clerk-sync <command> --help for a command's options.\n`;
}

/**
 * Runs one CLI invocation and returns its exit code (testable: never exits the process).
 *
 * @example
 * const code = await runCommand(["status", "--json"], { cwd, env, stdout, stderr });
 */
export async function runCommand(argv: string[], io: Omit<CommandContext, "args">): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.stdout(help());
    return name ? 0 : 2;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`Unknown command "${name}".\n\n${help()}`);
    return 2;
  }
  try {
    return await command.run({ ...io, args });
  } catch (error) {
    if (isClerkSyncError(error)) {
      io.stderr(`clerk-sync ${name}: ${error.message} [${error.code}]\n`);
      return 1;
    }
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`clerk-sync ${name}: ${error.message}\n${command.usage}\n`);
      return 2;
    }
    throw error;
  }
}

/** The process entry: runs the command and exits with its code. */
export async function runMain(argv = process.argv.slice(2)): Promise<never> {
  const code = await runCommand(argv, {
    cwd: process.cwd(),
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    stderrIsTTY: process.stderr.isTTY === true,
  });
  process.exit(code);
}
