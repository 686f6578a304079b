import type { IncomingMessage, ServerResponse } from "node:http";
import { ClerkSyncError, ERROR_STATUS, type ErrorCode, isClerkSyncError } from "../core/errors.js";
import { type Logger, silentLogger } from "../core/logger.js";
import type { ClerkSync } from "../receiver/create-clerk-sync.js";
import type { ClerkSyncStore } from "../store/store.js";
import { DashboardAuth, parseCookies, SESSION_COOKIE, sameOrigin, sessionCookie } from "./auth.js";
import { html, type SafeHtml } from "./html.js";
import { page, SECURITY_HEADERS } from "./layout.js";
import type { PageContext, RenderedPage } from "./pages/context.js";
import { deliveriesPage } from "./pages/deliveries.js";
import { healthPage } from "./pages/health.js";
import { loginBody } from "./pages/login.js";
import { organizationsPage } from "./pages/organizations.js";
import { runsPage } from "./pages/runs.js";
import { usersPage } from "./pages/users.js";

/** What a replay from the dashboard answers: the attempt's outcome and, when it failed, why. */
export interface DashboardReplayResult {
  outcome: string;
  errorCode?: string | null;
}

export interface DashboardOptions {
  /**
   * A receiver (`createClerkSync(…)`): the dashboard shows its store and replays through its
   * engine and hooks. Give this or `store`.
   */
  sync?: Pick<ClerkSync, "store" | "replay">;
  /** The database to show, when no `sync` is given (then, without `replay`, read-only). */
  store?: ClerkSyncStore | (() => Promise<ClerkSyncStore>);
  /** The token that signs in (`CLERK_SYNC_DASHBOARD_TOKEN`), at least 16 characters. */
  token: string;
  /** The path the dashboard is mounted at, for its links and its cookie's Path. Default `/dashboard`. */
  prefix?: string;
  /**
   * Replays a delivery by `svix-id` through the receiver's engine and hooks. Without it the
   * dashboard is read-only: the delivery page shows no replay button.
   */
  replay?: (svixId: string) => Promise<DashboardReplayResult>;
  /**
   * Mark the session cookie `Secure`: `"auto"` (default) when the request came over TLS or a proxy
   * says so (`X-Forwarded-Proto: https`).
   */
  secureCookies?: boolean | "auto";
  /** The clock (tests). */
  now?: () => number;
  logger?: Logger;
}

/** A node:http request listener serving the dashboard, with what it was built with. */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  readonly prefix: string;
}

/** Largest form body accepted (a login or a replay form is well under 1 KiB). */
const MAX_FORM_BYTES = 8 * 1024;

/** Wrong tokens accepted per window before sign-in pauses (per process). */
export const SIGN_IN_FAILURES_PER_WINDOW = 20;
const SIGN_IN_WINDOW_MS = 60_000;

/**
 * Guessing guard: after {@link SIGN_IN_FAILURES_PER_WINDOW} wrong tokens within a minute, every
 * sign-in (a right token too, so guessing learns nothing) is refused until that minute is over.
 * Sessions already open are untouched.
 */
class SignInLimiter {
  #windowStart = 0;
  #failures = 0;

  failed(at: number): void {
    if (at - this.#windowStart >= SIGN_IN_WINDOW_MS) {
      this.#windowStart = at;
      this.#failures = 0;
    }
    this.#failures++;
  }

  /** How long sign-in stays paused, ms (0: open). */
  refusedFor(at: number): number {
    if (this.#failures < SIGN_IN_FAILURES_PER_WINDOW) return 0;
    return Math.max(0, this.#windowStart + SIGN_IN_WINDOW_MS - at);
  }
}

/** A request the dashboard refuses, answered with its code. */
class Refusal {
  constructor(
    readonly code: ErrorCode,
    readonly message: string,
    readonly body?: SafeHtml,
  ) {}
}

/**
 * The dashboard: server-rendered pages over the store (health, deliveries, a delivery with its
 * attempts and replay, users, organizations, runs), behind a token and a session cookie. A
 * node:http listener, mountable under any prefix: `clerk-sync serve --dashboard` mounts it at
 * `/dashboard`, `clerk-sync dashboard` serves it alone, and an app can mount it itself.
 *
 * @example
 * const dashboard = createDashboard({ store, token: process.env.CLERK_SYNC_DASHBOARD_TOKEN! });
 * createServer((req, res) => req.url?.startsWith("/dashboard") ? dashboard(req, res) : app(req, res));
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const prefix = (options.prefix ?? "/dashboard").replace(/\/+$/, "");
  if (prefix !== "" && !/^\/[A-Za-z0-9._~\-/]*$/.test(prefix)) {
    throw new ClerkSyncError("invalid_config", `The dashboard prefix must be a path like /dashboard, got "${prefix}"`);
  }
  const auth = new DashboardAuth(options.token);
  const now = options.now ?? Date.now;
  const log = options.logger ?? silentLogger;
  const given = options.store ?? (options.sync ? () => (options.sync as Pick<ClerkSync, "store">).store() : undefined);
  if (given === undefined)
    throw new ClerkSyncError("invalid_config", "createDashboard needs a store or a sync receiver");
  let opened: Promise<ClerkSyncStore> | undefined;
  const store = () => {
    if (typeof given !== "function") return Promise.resolve(given);
    opened ??= given();
    return opened;
  };
  const sync = options.sync;
  const replayDelivery =
    options.replay ??
    (sync
      ? async (svixId: string): Promise<DashboardReplayResult> => {
          const item = (await sync.replay({ ids: [svixId] })).items[0];
          return { outcome: item?.outcome ?? "error", errorCode: item?.error?.code ?? null };
        }
      : undefined);
  const cookiePath = prefix === "" ? "/" : prefix;
  const signIns = new SignInLimiter();

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch((error: unknown) => {
      const coded = isClerkSyncError(error) ? error : undefined;
      log.error("dashboard request failed", { code: coded?.code ?? "internal_error", path: req.url });
      if (!res.headersSent) {
        const code = coded?.code ?? "internal_error";
        send(req, res, ERROR_STATUS[code], errorPage(code, coded?.message ?? "The dashboard failed to answer."), code);
      } else res.destroy();
    });
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    // Mounted with the prefix still in the URL (node:http) or stripped (Express's app.use).
    let path = url.pathname;
    if (prefix !== "" && (path === prefix || path.startsWith(`${prefix}/`))) path = path.slice(prefix.length);
    if (path === "") path = "/";
    const secure =
      options.secureCookies === "auto" || options.secureCookies === undefined
        ? (req.socket as { encrypted?: boolean }).encrypted === true || req.headers["x-forwarded-proto"] === "https"
        : options.secureCookies;
    const method = req.method ?? "GET";
    const nonce = auth.verify(parseCookies(req.headers.cookie).get(SESSION_COOKIE), now());

    if (path === "/login") {
      if (method === "GET") {
        const next = safeNext(url.searchParams.get("next"), prefix);
        return sendPage(req, res, 200, "Sign in", loginBody(prefix, { next }));
      }
      if (method !== "POST") return refuse(req, res, new Refusal("method_not_allowed", "GET or POST"), "GET, POST");
      // Login CSRF: a foreign page must not sign a browser into this dashboard.
      if (!sameOrigin(originHeaders(req))) {
        await drain(req);
        return refuse(
          req,
          res,
          new Refusal("csrf_failed", "The sign-in form must be posted from the dashboard itself"),
        );
      }
      const form = await readForm(req);
      const next = safeNext(form.get("next"), prefix);
      const wait = signIns.refusedFor(now());
      if (wait > 0) {
        res.setHeader("retry-after", String(Math.ceil(wait / 1000)));
        const message = "Too many wrong tokens: sign-in is paused for a minute.";
        return refuse(req, res, new Refusal("unauthorized", message, loginBody(prefix, { next, error: message })));
      }
      if (!auth.checkToken(form.get("token") ?? "")) {
        signIns.failed(now());
        log.warn("dashboard sign-in refused", { code: "unauthorized" });
        return refuse(
          req,
          res,
          new Refusal("unauthorized", "Wrong token", loginBody(prefix, { next, error: "That token is not right." })),
        );
      }
      res.setHeader("set-cookie", sessionCookie(auth.issue(now()), { path: cookiePath, secure }));
      return redirect(res, next);
    }

    if (nonce === undefined) {
      await drain(req);
      const next = method === "GET" ? safeNext(`${prefix}${path}${url.search}`, prefix) : prefix || "/";
      return refuse(req, res, new Refusal("unauthorized", "Sign in first", loginBody(prefix, { next })));
    }
    const csrf = auth.csrfToken(nonce);

    if (method === "POST") {
      if (!sameOrigin(originHeaders(req))) {
        await drain(req);
        return refuse(req, res, new Refusal("csrf_failed", "The form must be posted from the dashboard itself"));
      }
      const form = await readForm(req);
      if (!auth.checkCsrf(nonce, form.get("csrf") ?? undefined)) {
        return refuse(req, res, new Refusal("csrf_failed", "The form's CSRF token is missing or wrong"));
      }
      return action(req, res, path, secure);
    }
    if (method !== "GET" && method !== "HEAD") {
      return refuse(req, res, new Refusal("method_not_allowed", "GET, HEAD or POST"), "GET, HEAD, POST");
    }
    const segments = path.split("/").filter(Boolean).map(decodeSegment);
    if (segments.includes("")) return refuse(req, res, new Refusal("not_found", `No page ${path}`), undefined, csrf);
    const ctx: PageContext = {
      store: await store(),
      prefix,
      segments,
      query: url.searchParams,
      csrf,
      now: now(),
      canReplay: replayDelivery !== undefined,
    };
    const rendered = await route(ctx);
    if (rendered === undefined) return refuse(req, res, new Refusal("not_found", `No page ${path}`), undefined, csrf);
    return sendPage(req, res, rendered.status ?? 200, rendered.title, rendered.body, rendered.section, csrf);
  }

  /** The POST actions of a signed-in session (CSRF checked). */
  async function action(req: IncomingMessage, res: ServerResponse, path: string, secure: boolean): Promise<void> {
    if (path === "/logout") {
      res.setHeader("set-cookie", sessionCookie("", { path: cookiePath, secure }));
      return redirect(res, `${prefix}/login`);
    }
    const replay = /^\/deliveries\/([^/]+)\/replay$/.exec(path);
    if (replay?.[1] !== undefined && replayDelivery) {
      const svixId = decodeSegment(replay[1]);
      const result = await replayDelivery(svixId);
      log.info("dashboard replay", { svix_id: svixId, outcome: result.outcome });
      const notice = new URLSearchParams({ replayed: result.outcome });
      if (result.errorCode) notice.set("error_code", result.errorCode);
      return redirect(res, `${prefix}/deliveries/${encodeURIComponent(svixId)}?${notice}`);
    }
    return refuse(req, res, new Refusal("not_found", `No action ${path}`));
  }

  function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal, allow?: string, csrf?: string) {
    if (allow) res.setHeader("allow", allow);
    const body = refusal.body ?? errorPage(refusal.code, refusal.message);
    send(
      req,
      res,
      ERROR_STATUS[refusal.code],
      page({ prefix, title: titleOf(refusal.code), csrf }, body),
      refusal.code,
    );
  }

  function sendPage(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    title: string,
    body: SafeHtml,
    section?: string,
    csrf?: string,
  ) {
    send(req, res, status, page({ prefix, title, section, csrf }, body), status === 404 ? "not_found" : undefined);
  }

  return Object.assign(handler, { prefix });
}

/** Writes a page (or, to a client that does not take HTML, the coded JSON error). */
function send(req: IncomingMessage, res: ServerResponse, status: number, body: SafeHtml, code?: ErrorCode): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  if (code) res.setHeader("clerk-sync-error-code", code);
  const wantsJson = code !== undefined && !(req.headers.accept ?? "").includes("text/html");
  const text = wantsJson ? JSON.stringify({ error: { code, message: titleOf(code) } }) : body.text;
  res.writeHead(status, {
    "content-type": wantsJson ? "application/json; charset=utf-8" : "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(req.method === "HEAD" ? undefined : text);
}

/** A 303 to `location` (after a POST, the browser GETs it). */
function redirect(res: ServerResponse, location: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.writeHead(303, { location, "content-length": 0 });
  res.end();
}

function errorPage(code: ErrorCode, message: string): SafeHtml {
  return html`<h1>${titleOf(code)}</h1><p class="card">${message} <span class="muted">[${code}]</span></p>`;
}

function titleOf(code: ErrorCode): string {
  switch (code) {
    case "unauthorized":
      return "Sign in";
    case "csrf_failed":
      return "Refused: cross-site request";
    case "not_found":
      return "Not found";
    case "method_not_allowed":
      return "Method not allowed";
    default:
      return "Error";
  }
}

/** Where to go after signing in: a path of this dashboard only (never another site: no open redirect). */
function safeNext(next: string | null, prefix: string): string {
  const home = prefix || "/";
  if (!next?.startsWith("/") || next.startsWith("//") || next.includes("\\")) return home;
  if (next !== prefix && !next.startsWith(`${prefix}/`) && !next.startsWith(`${prefix}?`)) return home;
  return next;
}

function originHeaders(req: IncomingMessage): { origin?: string; referer?: string; host?: string } {
  const forwarded = req.headers["x-forwarded-host"];
  const host = typeof forwarded === "string" ? forwarded.split(",")[0]?.trim() : req.headers.host;
  return { origin: req.headers.origin, referer: req.headers.referer, host };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers["content-type"] ?? "";
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new ClerkSyncError("payload_too_large", "The form is too large");
    chunks.push(chunk);
  }
  if (!type.startsWith("application/x-www-form-urlencoded")) return new URLSearchParams();
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/** Reads and drops a request's body, so the connection can be reused. */
async function drain(req: IncomingMessage): Promise<void> {
  req.resume();
}

/** A path segment decoded; "" for a malformed escape (answered 404, not a crash). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return "";
  }
}

async function route(ctx: PageContext): Promise<RenderedPage | undefined> {
  switch (ctx.segments[0]) {
    case undefined:
      return healthPage(ctx);
    case "users":
      return ctx.segments.length <= 2 ? usersPage(ctx) : undefined;
    case "organizations":
      return ctx.segments.length <= 2 ? organizationsPage(ctx) : undefined;
    case "deliveries":
      return ctx.segments.length <= 2 ? deliveriesPage(ctx) : undefined;
    case "runs":
      return ctx.segments.length === 1 ? runsPage(ctx) : undefined;
    default:
      return undefined;
  }
}
