import { parseArgs } from "node:util";
import { isClerkSyncError } from "../../core/errors.js";
import { resolveConfig } from "../../server/config.js";
import { loadEnvFiles, saveDevelopmentSecret } from "../../server/env-files.js";
import { createJsonLogger } from "../../server/log.js";
import { type RunningService, startService } from "../../server/service.js";
import { COMMON_OPTIONS, type Command, commonFlags } from "../context.js";
import { dashboardTokenFor } from "../dashboard-token.js";

/**
 * `serve`'s exit code when the database cannot be opened, reached or migrated at start
 * (sysexits' EX_UNAVAILABLE): a supervisor may retry. Configuration errors exit 1.
 */
export const EXIT_STORE_UNAVAILABLE = 69;

export const serve: Command = {
  name: "serve",
  summary: "Run the webhook service (migrates the database first)",
  usage: `clerk-sync serve [--port 3000] [--host 0.0.0.0] [--database-url file:./clerk-sync.db]
                 [--secret whsec_…] [--path /api/webhooks] [--no-migrate] [--log-level info]
                 [--events user.*,organization.*] [--headers-timeout-ms 5000]
                 [--request-timeout-ms 10000] [--max-connections 1000]
                 [--metrics] [--metrics-port 9464] [--dashboard]`,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: {
        ...COMMON_OPTIONS,
        host: { type: "string" },
        path: { type: "string" },
        "log-level": { type: "string" },
        "no-migrate": { type: "boolean" },
        events: { type: "string", multiple: true },
        "headers-timeout-ms": { type: "string" },
        "request-timeout-ms": { type: "string" },
        "max-connections": { type: "string" },
        metrics: { type: "boolean" },
        "metrics-port": { type: "string" },
        dashboard: { type: "boolean" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const env = loadEnvFiles(ctx.cwd, ctx.env);
    const flags = commonFlags(values);
    if (values.host !== undefined) flags.host = values.host;
    if (values.path !== undefined) flags.path = values.path;
    if (values["log-level"] !== undefined) flags.logLevel = values["log-level"];
    if (values["no-migrate"]) flags.migrate = false;
    if (values.events !== undefined) flags.events = values.events;
    if (values["headers-timeout-ms"] !== undefined) flags.headersTimeoutMs = values["headers-timeout-ms"];
    if (values["request-timeout-ms"] !== undefined) flags.requestTimeoutMs = values["request-timeout-ms"];
    if (values["max-connections"] !== undefined) flags.maxConnections = values["max-connections"];
    if (values.metrics) flags.metrics = true;
    if (values["metrics-port"] !== undefined) flags.metricsPort = values["metrics-port"];
    if (values.dashboard) flags.dashboard = true;
    const config = resolveConfig(env, flags);
    if (config.dashboard) config.dashboardToken = dashboardTokenFor(ctx, env, config.dashboardToken);
    const log = createJsonLogger(config.logLevel);
    if (config.secrets.length === 0) {
      if (env.NODE_ENV === "production") {
        ctx.stderr(
          "No signing secret: set CLERK_WEBHOOK_SIGNING_SECRET (Clerk Dashboard > Webhooks > your endpoint).\n",
        );
        return 1;
      }
      const { secret, tightened } = saveDevelopmentSecret(ctx.cwd);
      config.secrets = [secret];
      ctx.stderr(
        `No signing secret was configured, so clerk-sync created a development secret and saved it to .env.local:\n\n  ${secret}\n\n` +
          "`clerk-sync send <event>` signs with it. For real Clerk events set CLERK_WEBHOOK_SIGNING_SECRET to your endpoint's secret.\n\n" +
          (tightened
            ? ".env.local now holds a secret: it was readable by others, so it is now readable by you only (0600).\n\n"
            : ""),
      );
    }
    let service: RunningService;
    try {
      service = await startService(config, { logger: log });
    } catch (error) {
      if (!isClerkSyncError(error) || error.code !== "store_unavailable") throw error;
      // The database cannot be reached or opened: a coded line and EX_UNAVAILABLE, no stack trace.
      log.error("start failed", { code: error.code, error: error.message });
      ctx.stderr(`clerk-sync serve: ${error.message} [${error.code}]\n`);
      return EXIT_STORE_UNAVAILABLE;
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info("shutting down", { signal });
        service.close().then(resolve, (error: unknown) => {
          log.error("shutdown failed", { error: isClerkSyncError(error) ? error.code : String(error) });
          resolve();
        });
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
    log.flush(); // summaries of repeated errors still held back
    return 0;
  },
};
