import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ClerkSyncError } from "../../core/errors.js";
import { CLERK_EVENT_TYPES, type ClerkEventType, isKnownEventType } from "../../core/events.js";
import { resolveConfig } from "../../server/config.js";
import { loadEnvFiles } from "../../server/env-files.js";
import { freshExample, setPath } from "../../testing/fixtures.js";
import { SCENARIOS, type ScenarioEvent, signupScenario } from "../../testing/scenario.js";
import { signDelivery } from "../../testing/sign.js";
import { COMMON_OPTIONS, type Command, commonFlags } from "../context.js";

function readData(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new ClerkSyncError("invalid_config", `--data ${path} is not a readable JSON file`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ClerkSyncError("invalid_config", `--data ${path} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}

/**
 * The error for a webhook route that answered a redirect: behind `clerkMiddleware` a route that
 * calls `auth.protect()` sends a request without a session to the sign-in page (307). Following
 * it would end in a DNS or HTML error about the sign-in host; the cause is the proxy's line.
 */
function notPublic(url: string, status: number, location: string | null): ClerkSyncError {
  return new ClerkSyncError(
    "invalid_config",
    `POST ${url} answered ${status}${location ? ` with a redirect to ${location}` : " (a redirect)"}: the webhook route is not public. ` +
      "Clerk's webhooks carry no session, so a route behind clerkMiddleware's auth.protect() redirects them to sign in. " +
      'In proxy.ts (middleware.ts before Next.js 16), skip the check for the webhook route: if (!request.nextUrl.pathname.startsWith("/api/webhooks")) await auth.protect(); ' +
      "(see docs/troubleshooting.md). Otherwise check --url: clerk-sync does not follow redirects",
  );
}

export const send: Command = {
  name: "send",
  summary: "Sign and send an example event to the service (no tunnel needed)",
  usage: `clerk-sync send <event-type> [--set data.first_name=Ann]… [--data file.json] [--id user_123]
                [--url http://localhost:3000/api/webhooks] [--secret whsec_…] [--svix-id msg_…]
clerk-sync send --scenario signup   (a user signs up, creates an organization, invites a member, is deleted)
clerk-sync send --list`,
  async run(ctx) {
    const { values, positionals } = parseArgs({
      args: ctx.args,
      allowPositionals: true,
      options: {
        ...COMMON_OPTIONS,
        set: { type: "string", multiple: true },
        data: { type: "string" },
        id: { type: "string" },
        url: { type: "string" },
        "svix-id": { type: "string" },
        list: { type: "boolean" },
        scenario: { type: "string" },
      },
    });
    if (values.help) {
      ctx.stdout(`${this.usage}\n`);
      return 0;
    }
    if (values.list) {
      ctx.stdout(`${CLERK_EVENT_TYPES.join("\n")}\n`);
      return 0;
    }
    const type = positionals[0];
    const scenario = values.scenario;
    if (scenario !== undefined && !(SCENARIOS as readonly string[]).includes(scenario)) {
      ctx.stderr(`Unknown scenario "${scenario}". Scenarios: ${SCENARIOS.join(", ")}\n`);
      return 2;
    }
    if (scenario === undefined && (!type || !isKnownEventType(type))) {
      ctx.stderr(
        `${type ? `Unknown event type "${type}". ` : ""}Usage: ${this.usage}\nEvent types: clerk-sync send --list\n`,
      );
      return 2;
    }
    const config = resolveConfig(loadEnvFiles(ctx.cwd, ctx.env), commonFlags(values));
    const secret = config.secrets[0];
    if (!secret) {
      throw new ClerkSyncError(
        "invalid_config",
        "No signing secret: pass --secret, set CLERK_WEBHOOK_SIGNING_SECRET, or start `clerk-sync serve` once to create a development secret",
      );
    }
    const url = values.url ?? `http://localhost:${config.port}${config.path}`;
    const post = async (event: ScenarioEvent["event"], svixId?: string): Promise<boolean> => {
      const signed = signDelivery({ secret, payload: JSON.stringify(event), ...(svixId ? { id: svixId } : {}) });
      let response: Response;
      try {
        // A redirect is never followed: it means the route is not the receiver (see notPublic).
        response = await fetch(url, {
          method: "POST",
          headers: signed.headers,
          body: signed.body as string,
          redirect: "manual",
        });
      } catch (cause) {
        ctx.stderr(`Could not reach ${url}: ${(cause as Error).cause ?? cause}. Is the service running (npm start)?\n`);
        return false;
      }
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        throw notPublic(url, response.status, response.headers.get("location"));
      }
      const text = await response.text();
      ctx.stdout(
        `POST ${url}  ${String(event.type)}  svix-id ${signed.id}  object ${String(event.data.id)}\n${response.status} ${text}\n`,
      );
      return response.ok;
    };
    if (scenario !== undefined) {
      for (const step of signupScenario()) if (!(await post(step.event))) return 1;
      return 0;
    }
    let event = freshExample(type as ClerkEventType, values.id ? { id: values.id } : {});
    if (values.data) {
      const data = readData(resolve(ctx.cwd, values.data));
      event = "type" in data && "data" in data ? (data as typeof event) : { ...event, data };
    }
    for (const assignment of values.set ?? []) {
      const eq = assignment.indexOf("=");
      if (eq <= 0) throw new ClerkSyncError("invalid_config", `--set expects path=value, got "${assignment}"`);
      setPath(event, assignment.slice(0, eq), assignment.slice(eq + 1));
    }
    return (await post(event, values["svix-id"])) ? 0 : 1;
  },
};
