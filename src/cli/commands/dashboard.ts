import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { ClerkSyncError } from "../../core/errors.js";
import { createDashboard } from "../../dashboard/dashboard.js";
import { describeDatabaseUrl, resolveConfig } from "../../server/config.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { DASHBOARD_PATH } from "../../server/service.js";
import { openStore } from "../../store/open.js";
import type { ClerkSyncStore } from "../../store/store.js";
import { type Command, commonFlags } from "../context.js";
import { dashboardTokenFor } from "../dashboard-token.js";

/** `clerk-sync dashboard`'s port when none is given: beside `serve`'s 3000. */
export const DASHBOARD_DEFAULT_PORT = "3001";

export const dashboardCommand: Command = {
  name: "dashboard",
  summary: "Serve the dashboard alone, against any DATABASE_URL (apps whose receiver runs in-app)",
  usage: `clerk-sync dashboard [--port 3001] [--host 127.0.0.1] [--database-url file:./clerk-sync.db] [--no-migrate]
  Serves the dashboard at http://<host>:<port>/dashboard over the database the receiver writes to.
  Signs in with CLERK_SYNC_DASHBOARD_TOKEN; in development one is created in .env.local when
  missing, and under NODE_ENV=production it must be set.`,
  async run(ctx) {
    const { values } = parseArgs({
      args: ctx.args,
      options: {
        "database-url": { type: "string" },
        port: { type: "string" },
        host: { type: "string" },
        "no-migrate": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    const env = loadEnvFiles(ctx.cwd, ctx.env);
    const flags = commonFlags(values);
    // Its own default port (serve's PORT variable would collide with a service on the same host).
    flags.port = values.port ?? DASHBOARD_DEFAULT_PORT;
    flags.host = values.host ?? "127.0.0.1";
    const config = resolveConfig(env, flags);
    const token = dashboardTokenFor(ctx, env, config.dashboardToken);
    let store: ClerkSyncStore;
    try {
      store = await openStore(config.databaseUrl);
      if (!values["no-migrate"]) await store.migrate();
    } catch (error) {
      throw new ClerkSyncError(
        "store_unavailable",
        `Cannot open the database ${describeDatabaseUrl(config.databaseUrl)}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const dashboard = createDashboard({ store, token, prefix: DASHBOARD_PATH });
    const server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
      if (path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`)) return dashboard(req, res);
      req.resume();
      res.writeHead(path === "/" ? 303 : 404, path === "/" ? { location: DASHBOARD_PATH } : {});
      res.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
    ctx.stderr(
      `clerk-sync dashboard: http://${host}:${port}${DASHBOARD_PATH} (${describeDatabaseUrl(config.databaseUrl)})\n`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        server.close(() => resolve());
        server.closeAllConnections();
      };
      process.once("SIGTERM", stop);
      process.once("SIGINT", stop);
    });
    await store.close();
    return 0;
  },
};
