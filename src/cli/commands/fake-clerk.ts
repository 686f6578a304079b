import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type ClerkApiStandInOptions, startClerkApiStandIn } from "../../clerk-api/stand-in.js";
import type { StandInData } from "../../clerk-api/state.js";
import { ClerkSyncError } from "../../core/errors.js";
import { parseSecretList } from "../../core/verify.js";
import { loadEnvFiles } from "../../server/env-files.js";
import type { Command } from "../context.js";

function whole(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value))
    throw new ClerkSyncError("invalid_config", `--${name} must be a whole number, got "${value}"`);
  return Number(value);
}

function readData(path: string): StandInData {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new ClerkSyncError("invalid_config", `--data ${path} is not a readable JSON file`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ClerkSyncError("invalid_config", `--data ${path} must hold { users, organizations, memberships }`);
  }
  return value as StandInData;
}

export const fakeClerk: Command = {
  name: "fake-clerk",
  summary: "Run a local stand-in of Clerk's Backend API (seeded users, Clerk's limits, no Clerk needed)",
  usage: `clerk-sync fake-clerk [--port 3100] [--host 127.0.0.1] [--users 1000] [--orgs 50] [--seed 1]
                      [--data file.json] [--rate-limit 100] [--rate-window-ms 10000] [--secret-key sk_test_…]
                      [--webhook-url http://localhost:3000/api/webhooks] [--webhook-secret whsec_…]`,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        users: { type: "string" },
        orgs: { type: "string" },
        seed: { type: "string" },
        data: { type: "string" },
        "rate-limit": { type: "string" },
        "rate-window-ms": { type: "string" },
        "secret-key": { type: "string" },
        "webhook-url": { type: "string" },
        "webhook-secret": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const env = loadEnvFiles(ctx.cwd, ctx.env);
    const rate = whole("rate-limit", values["rate-limit"], 100);
    const options: ClerkApiStandInOptions = {
      port: whole("port", values.port, 3100),
      host: values.host ?? "127.0.0.1",
      users: whole("users", values.users, 1000),
      organizations: whole("orgs", values.orgs, 50),
      seed: whole("seed", values.seed, 1),
      rateLimit:
        rate === 0 ? false : { requests: rate, windowMs: whole("rate-window-ms", values["rate-window-ms"], 10_000) },
    };
    // The key clients already hold, when it is a development key; else a fresh one.
    const envKey = env.CLERK_SECRET_KEY?.trim();
    const secretKey = values["secret-key"] ?? (envKey?.startsWith("sk_test_") ? envKey : undefined);
    if (secretKey !== undefined) options.secretKey = secretKey;
    if (values.data !== undefined) options.data = readData(resolve(ctx.cwd, values.data));
    if (values["webhook-url"] !== undefined) {
      const secret =
        values["webhook-secret"] ?? parseSecretList(env.CLERK_WEBHOOK_SIGNING_SECRET ?? env.SIGNING_SECRET ?? "")[0];
      if (!secret) {
        throw new ClerkSyncError(
          "invalid_config",
          "--webhook-url needs a signing secret: pass --webhook-secret or set CLERK_WEBHOOK_SIGNING_SECRET",
        );
      }
      options.webhooks = { url: values["webhook-url"], secret };
    }
    const standIn = await startClerkApiStandIn(options);
    const counts = standIn.snapshot();
    const limit = standIn.rateLimit
      ? `${standIn.rateLimit.requests} requests per ${standIn.rateLimit.windowMs / 1000} s per key`
      : "no rate limit";
    ctx.stdout(
      `Clerk Backend API stand-in on ${standIn.url}\n` +
        `  ${counts.users.length} users, ${counts.organizations.length} organizations, ${counts.memberships.length} memberships; ${limit}\n` +
        `${options.webhooks ? `  webhooks of changes made through /__stand-in/ go to ${options.webhooks.url}\n` : ""}` +
        "\nPoint clients at it with:\n\n" +
        `  CLERK_API_URL=${standIn.url}\n` +
        // A key the user brought is theirs and may be real: it is not printed.
        `  CLERK_SECRET_KEY=${secretKey === undefined ? standIn.secretKey : "(the key you gave it)"}\n\n` +
        "Ctrl-C stops it.\n",
    );
    await new Promise<void>((done) => {
      const stop = () => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        done();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await standIn.close();
    return 0;
  },
};
