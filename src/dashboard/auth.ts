import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ClerkSyncError } from "../core/errors.js";

/** The session cookie's name. */
export const SESSION_COOKIE = "clerk_sync_dashboard";
/** Shortest token accepted: a guessable token would be the whole of the dashboard's protection. */
export const MIN_TOKEN_LENGTH = 16;
/** How long a session lasts after sign-in. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const sha256 = (text: string) => createHash("sha256").update(text).digest();

/**
 * The dashboard's credentials: the token, checked in constant time, and the sessions signed with a
 * key derived from it. Sessions are stateless (`<expiry>.<nonce>.<mac>`): any process holding the
 * same token accepts them, and changing the token signs everyone out.
 */
export class DashboardAuth {
  readonly #tokenHash: Buffer;
  readonly #key: Buffer;

  constructor(token: string) {
    if (token.length < MIN_TOKEN_LENGTH) {
      throw new ClerkSyncError(
        "invalid_config",
        `CLERK_SYNC_DASHBOARD_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -base64 24)`,
      );
    }
    this.#tokenHash = sha256(token);
    this.#key = createHmac("sha256", token).update("clerk-sync dashboard session v1").digest();
  }

  /**
   * Whether `given` is the token. Both sides are hashed first, so the comparison takes the same
   * time whatever the given text's length and content (`crypto.timingSafeEqual` needs equal lengths).
   */
  checkToken(given: string): boolean {
    return timingSafeEqual(sha256(given), this.#tokenHash);
  }

  /** A new session's cookie value, valid until `now + SESSION_TTL_MS`. */
  issue(now: number): string {
    const body = `${now + SESSION_TTL_MS}.${randomBytes(16).toString("base64url")}`;
    return `${body}.${this.#mac(`session.${body}`)}`;
  }

  /** The session's nonce when `cookie` is a session this token signed and it has not expired; else undefined. */
  verify(cookie: string | undefined, now: number): string | undefined {
    if (cookie === undefined) return undefined;
    const parts = cookie.split(".");
    if (parts.length !== 3) return undefined;
    const [expiry, nonce, mac] = parts as [string, string, string];
    if (!/^\d+$/.test(expiry) || Number(expiry) <= now) return undefined;
    return this.#same(mac, this.#mac(`session.${expiry}.${nonce}`)) ? nonce : undefined;
  }

  /** The CSRF token of a session (by its nonce): what every form of that session carries. */
  csrfToken(nonce: string): string {
    return this.#mac(`csrf.${nonce}`);
  }

  /** Whether `given` is the CSRF token of the session `nonce`, compared in constant time. */
  checkCsrf(nonce: string, given: string | undefined): boolean {
    return given !== undefined && this.#same(given, this.csrfToken(nonce));
  }

  #mac(text: string): string {
    return createHmac("sha256", this.#key).update(text).digest("base64url");
  }

  #same(a: string, b: string): boolean {
    return timingSafeEqual(sha256(a), sha256(b));
  }
}

/** The cookies of a request's `Cookie` header. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return cookies;
}

/** A `Set-Cookie` value for the session (or its removal when `value` is empty). */
export function sessionCookie(value: string, options: { path: string; secure: boolean; maxAgeMs?: number }): string {
  const maxAge = value === "" ? 0 : Math.floor((options.maxAgeMs ?? SESSION_TTL_MS) / 1000);
  return `${SESSION_COOKIE}=${value}; Path=${options.path}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${options.secure ? "; Secure" : ""}`;
}

/**
 * Whether a state-changing request comes from the dashboard's own origin: its `Origin` header (or,
 * when a browser sent none, its `Referer`) must name the host the request was sent to. A request
 * with neither is refused: every browser sends `Origin` on a form POST.
 */
export function sameOrigin(headers: { origin?: string; referer?: string; host?: string }): boolean {
  const source = headers.origin ?? headers.referer;
  if (source === undefined || source === "null" || headers.host === undefined) return false;
  try {
    return new URL(source).host === headers.host;
  } catch {
    return false;
  }
}
