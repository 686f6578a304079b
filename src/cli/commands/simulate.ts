import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ClerkSyncError, isClerkSyncError } from "../../core/errors.js";
import { resolveConfig } from "../../server/config.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { readHistoryFile } from "../../simulate/history.js";
import { formatReport } from "../../simulate/report.js";
import { type SimulateOptions, simulate } from "../../simulate/simulate.js";
import { COMMON_OPTIONS, type Command, commonFlags } from "../context.js";

/** Exit code for bad input (a flag's value, the history file, the secret): nothing was sent. */
export const BAD_INPUT_EXIT = 3;

function number(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) {
    throw new ClerkSyncError("invalid_config", `--${flag} expects a number, got "${raw}"`);
  }
  return n;
}

function wholeNumber(flag: string, raw: string | undefined): number | undefined {
  const n = number(flag, raw);
  if (n !== undefined && !(Number.isInteger(n) && n >= 0)) {
    throw new ClerkSyncError("invalid_config", `--${flag} expects a whole number, got "${raw}"`);
  }
  return n;
}

export const simulateCommand: Command = {
  name: "simulate",
  summary: "A local Svix: send a generated history (or one from a file) like Svix, then check the mirror",
  usage: `clerk-sync simulate [--url http://localhost:3000/api/webhooks] [--secret whsec_…]
                    [--users 50 | --history file.json] [--seed 1]
                    [--reorder 0.2] [--duplicates 0.1] [--delay-ms 0] [--time-scale 1000] [--concurrency 10]
                    [--database-url postgres://…] [--delete-mode soft|hard] [--json]
Exit: 0 all acknowledged (and the mirror equals the in-order result), 1 a message given up or a row differs,
      2 unknown option, 3 bad input (nothing sent)`,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: {
        ...COMMON_OPTIONS,
        url: { type: "string" },
        users: { type: "string" },
        history: { type: "string" },
        seed: { type: "string" },
        reorder: { type: "string" },
        duplicates: { type: "string" },
        "delay-ms": { type: "string" },
        "time-scale": { type: "string" },
        concurrency: { type: "string" },
        "delete-mode": { type: "string" },
        json: { type: "boolean" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    let options: SimulateOptions;
    try {
      options = resolveOptions(ctx.cwd, ctx.env, values);
    } catch (error) {
      if (!isClerkSyncError(error)) throw error;
      ctx.stderr(`clerk-sync simulate: ${error.message} [${error.code}]\n`);
      return BAD_INPUT_EXIT;
    }
    const result = await simulate(options).catch((error: unknown) => {
      if (isClerkSyncError(error, "invalid_config") || isClerkSyncError(error, "invalid_secret")) return error;
      throw error;
    });
    if (result instanceof ClerkSyncError) {
      ctx.stderr(`clerk-sync simulate: ${result.message} [${result.code}]\n`);
      return BAD_INPUT_EXIT;
    }
    ctx.stdout(values.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result));
    return result.ok ? 0 : 1;
  },
};

function resolveOptions(
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
  values: Record<string, string | string[] | boolean | undefined>,
): SimulateOptions {
  const str = (name: string) => values[name] as string | undefined;
  const flags = commonFlags({ secret: values.secret as string[] | undefined, port: str("port") });
  const config = resolveConfig(loadEnvFiles(cwd, env), flags);
  const secret = config.secrets[0];
  if (!secret) {
    throw new ClerkSyncError(
      "invalid_config",
      "No signing secret: pass --secret (the receiver's), set CLERK_WEBHOOK_SIGNING_SECRET, or start `clerk-sync serve` once to create a development secret",
    );
  }
  if (str("history") !== undefined && str("users") !== undefined) {
    throw new ClerkSyncError("invalid_config", "--history and --users exclude each other");
  }
  const deleteMode = str("delete-mode");
  if (deleteMode !== undefined && deleteMode !== "soft" && deleteMode !== "hard") {
    throw new ClerkSyncError("invalid_config", `--delete-mode expects soft or hard, got "${deleteMode}"`);
  }
  const options: SimulateOptions = {
    url: str("url") ?? `http://localhost:${config.port}${config.path}`,
    secret,
  };
  const historyPath = str("history");
  if (historyPath !== undefined) options.history = readHistoryFile(resolve(cwd, historyPath));
  const numbers: [keyof SimulateOptions, number | undefined][] = [
    ["users", wholeNumber("users", str("users"))],
    ["seed", wholeNumber("seed", str("seed"))],
    ["reorder", number("reorder", str("reorder"))],
    ["duplicates", number("duplicates", str("duplicates"))],
    ["delayMs", number("delay-ms", str("delay-ms"))],
    ["timeScale", number("time-scale", str("time-scale"))],
    ["concurrency", wholeNumber("concurrency", str("concurrency"))],
  ];
  for (const [key, value] of numbers)
    if (value !== undefined) (options as unknown as Record<string, number>)[key] = value;
  if (options.users === 0) throw new ClerkSyncError("invalid_config", "--users must be at least 1");
  const databaseUrl = str("database-url");
  if (databaseUrl !== undefined) options.databaseUrl = databaseUrl;
  if (deleteMode !== undefined) options.deleteMode = deleteMode;
  validateSendOptions(options);
  return options;
}

/** The sender's own checks, run before anything is sent (so bad values exit 3 with nothing sent). */
function validateSendOptions(o: SimulateOptions): void {
  for (const [flag, p] of [
    ["reorder", o.reorder],
    ["duplicates", o.duplicates],
  ] as const) {
    if (p !== undefined && !(p >= 0 && p <= 1))
      throw new ClerkSyncError("invalid_config", `--${flag} must be between 0 and 1`);
  }
  if (o.timeScale !== undefined && !(o.timeScale > 0))
    throw new ClerkSyncError("invalid_config", "--time-scale must be more than 0");
  if (o.concurrency !== undefined && !(o.concurrency >= 1))
    throw new ClerkSyncError("invalid_config", "--concurrency must be at least 1");
  if (o.delayMs !== undefined && !(o.delayMs >= 0))
    throw new ClerkSyncError("invalid_config", "--delay-ms must be 0 or more");
  try {
    new URL(o.url);
  } catch {
    throw new ClerkSyncError("invalid_config", `--url is not a URL: ${o.url}`);
  }
}
