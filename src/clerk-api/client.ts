/**
 * A client of Clerk's Backend API for backfill, reconciliation and read-through: the listings
 * and lookups they need, paced under the rate limit, with 429s waited out and retried, network
 * errors and 5xx retried with back-off, and walks over whole listings that users signing up or
 * being deleted meanwhile cannot make skip or repeat anything (see walk.ts).
 *
 * It answers the API's own JSON, the same as a webhook's `data`, so that the sync engine maps
 * both with the same code. It uses global fetch, not `@clerk/backend` (docs/decisions.md).
 */
import { ClerkSyncError } from "../core/errors.js";
import type { OrganizationJSON, OrganizationMembershipJSON, UserJSON } from "../core/events.js";
import { RequestPacer } from "./pacer.js";
import type { Page } from "./query.js";
import { CLERK_DEVELOPMENT_LIMIT, type RateLimit } from "./rate-limiter.js";
import { type RequestOptions, sendWithRetries } from "./transport.js";
import { type OffsetCursor, type UsersCursor, type WalkPage, walkByCreatedAt, walkOffset } from "./walk.js";

/** Options of `createClerkApiClient`; all optional. */
export interface ClerkApiClientOptions {
  /** The instance's secret key (`sk_test_…` / `sk_live_…`); default `CLERK_SECRET_KEY`. */
  secretKey?: string;
  /** The API's origin, without `/v1`; default `CLERK_API_URL`, else https://api.clerk.com. */
  apiUrl?: string;
  /** Where `CLERK_SECRET_KEY` and `CLERK_API_URL` are read (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Requests per window this client keeps under (default 100 per 10 s, Clerk's development
   * limit). Clerk allows production instances 1,000 per 10 s, shared with the application's own
   * calls. false: no pacing (429s are still waited out).
   */
  rateLimit?: RateLimit | false;
  /** Retries of a request after a network error, a timeout or a 5xx (default 4), with doubling back-off. */
  retries?: number;
  /** First back-off in ms (default 500; doubles per retry, at most 30 s). */
  retryDelayMs?: number;
  /** How many 429s in a row one request waits out before it fails (default 50). */
  maxRateLimitWaits?: number;
  /** Per-request timeout in ms (default 30,000). */
  timeoutMs?: number;
}

/** The filters of the users listing and count. */
export interface UserFilterParams {
  /** Users created strictly after this time (epoch ms). */
  createdAfter?: number;
  /** Users created strictly before this time (epoch ms). */
  createdBefore?: number;
  /** At most 100 user ids. */
  userIds?: string[];
  /** At most 100 email addresses. */
  emailAddresses?: string[];
}

/** Paging of a listing. */
export interface PageParams {
  /** 1–500 (default 500). */
  limit?: number;
  offset?: number;
  /** A field with `+` (ascending) or `-` (descending); default `+created_at`. */
  orderBy?: string;
}

/** What the client has done: requests sent, 429s waited out, retries after failures. */
export interface ClerkApiClientStats {
  requests: number;
  rateLimited: number;
  retried: number;
}

/** A client of Clerk's Backend API. */
export interface ClerkApiClient {
  /** The API origin in use (never the key). */
  readonly apiUrl: string;
  /** One page of users, `+created_at` unless `orderBy` says otherwise. */
  listUsersPage(params?: PageParams & UserFilterParams): Promise<UserJSON[]>;
  countUsers(params?: UserFilterParams): Promise<number>;
  /** The user, or null when the API answers 404 `resource_not_found` (deleted or never existed). */
  getUser(id: string): Promise<UserJSON | null>;
  listOrganizationsPage(params?: PageParams): Promise<Page<OrganizationJSON>>;
  /** The organization by id or slug, or null on 404. */
  getOrganization(idOrSlug: string): Promise<OrganizationJSON | null>;
  /** Memberships of the instance (`/v1/organization_memberships`), or of one organization. */
  listMembershipsPage(params?: PageParams & { organizationId?: string }): Promise<Page<OrganizationMembershipJSON>>;
  /** Every user, oldest first, a page per step; resumable from any page's cursor. */
  walkUsers(options?: { pageSize?: number; cursor?: UsersCursor }): AsyncGenerator<WalkPage<UserJSON, UsersCursor>>;
  /** Every organization, oldest first, a page per step. */
  walkOrganizations(options?: {
    pageSize?: number;
    cursor?: OffsetCursor;
  }): AsyncGenerator<WalkPage<OrganizationJSON, OffsetCursor>>;
  /** Every membership of the instance (or of one organization), oldest first, a page per step. */
  walkMemberships(options?: {
    pageSize?: number;
    cursor?: OffsetCursor;
    organizationId?: string;
  }): AsyncGenerator<WalkPage<OrganizationMembershipJSON, OffsetCursor>>;
  stats(): ClerkApiClientStats;
}

const DEFAULT_API_URL = "https://api.clerk.com";
const SECRET_KEY = /^sk_(test|live)_[A-Za-z0-9_-]+$/;

function invalid(message: string): ClerkSyncError {
  return new ClerkSyncError("invalid_config", message);
}

function resolveSecretKey(options: ClerkApiClientOptions, env: Readonly<Record<string, string | undefined>>): string {
  const given = options.secretKey !== undefined;
  const key = (options.secretKey ?? env.CLERK_SECRET_KEY ?? "").trim();
  const name = given ? "The secretKey option" : "CLERK_SECRET_KEY";
  if (key === "") {
    throw invalid(
      "CLERK_SECRET_KEY is not set: the Backend API needs the instance's secret key (sk_test_… or sk_live_…)",
    );
  }
  // Never echo the value: it may be a real key pasted into the wrong variable.
  if (!SECRET_KEY.test(key)) throw invalid(`${name} is not a Clerk secret key (sk_test_… or sk_live_…)`);
  return key;
}

function resolveApiUrl(options: ClerkApiClientOptions, env: Readonly<Record<string, string | undefined>>): string {
  const name = options.apiUrl !== undefined ? "The apiUrl option" : "CLERK_API_URL";
  const raw = (options.apiUrl ?? env.CLERK_API_URL ?? "").trim() || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`${name} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw invalid(`${name} must be an http(s) URL`);
  if (url.search || url.hash || url.username || url.password) {
    throw invalid(`${name} must be the API's origin, e.g. ${DEFAULT_API_URL}`);
  }
  const base = url.href.replace(/\/+$/, "");
  // The SDKs add /v1 themselves; /v1/v1/users/… would answer 404 for every user.
  if (/\/v1$/.test(base)) throw invalid(`${name} is the API's origin without /v1, e.g. ${DEFAULT_API_URL}`);
  return base;
}

function checkLimit(limit: number | undefined, max = 500): number {
  const value = limit ?? 500;
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw invalid(`limit must be a whole number from 1 to ${max}`);
  return value;
}

function checkWalkSize(size: number | undefined): number {
  const value = size ?? 500;
  if (!Number.isInteger(value) || value < 2 || value > 500)
    throw invalid("pageSize must be a whole number from 2 to 500");
  return value;
}

function pagingQuery(params: PageParams): [string, string][] {
  const offset = params.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw invalid("offset must be a whole number, 0 or more");
  const orderBy = params.orderBy ?? "+created_at";
  if (!/^[+-]?[a-z_0-9]+$/.test(orderBy)) throw invalid("orderBy must be a field name with an optional + or - prefix");
  return [
    ["limit", String(checkLimit(params.limit))],
    ["offset", String(offset)],
    ["order_by", orderBy],
  ];
}

function userFilterQuery(params: UserFilterParams): [string, string][] {
  const query: [string, string][] = [];
  for (const [name, value] of [
    ["created_at_after", params.createdAfter],
    ["created_at_before", params.createdBefore],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) throw invalid(`${name} must be epoch milliseconds`);
    query.push([name, String(value)]);
  }
  for (const [name, values] of [
    ["user_id", params.userIds],
    ["email_address", params.emailAddresses],
  ] as const) {
    if (!values) continue;
    if (values.length > 100) throw invalid(`At most 100 values of ${name} per request`);
    for (const value of values) query.push([name, value]);
  }
  return query;
}

function requireId(id: string, what: string): string {
  if (typeof id !== "string" || id.trim() === "" || id.includes("/")) throw invalid(`${what} must be a non-empty id`);
  return id;
}

/**
 * A Backend API client. Reads `CLERK_SECRET_KEY` and `CLERK_API_URL` unless given; a missing or
 * ill-formed key is `invalid_config`.
 *
 * @example
 * const clerk = createClerkApiClient(); // CLERK_SECRET_KEY, CLERK_API_URL
 * for await (const { items, cursor } of clerk.walkUsers()) {
 *   await save(items);
 *   await saveCursor(cursor); // walkUsers({ cursor }) resumes after this page
 * }
 * const user = await clerk.getUser("user_2…"); // null when Clerk answers 404
 */
export function createClerkApiClient(options: ClerkApiClientOptions = {}): ClerkApiClient {
  const env = options.env ?? process.env;
  const secretKey = resolveSecretKey(options, env);
  const apiUrl = resolveApiUrl(options, env);
  const limit = options.rateLimit === false ? null : { ...CLERK_DEVELOPMENT_LIMIT, ...options.rateLimit };
  if (limit && (!Number.isInteger(limit.requests) || limit.requests < 1 || !(limit.windowMs > 0))) {
    throw invalid("rateLimit needs a whole number of requests (1 or more) per windowMs above 0");
  }
  const stats: ClerkApiClientStats = { requests: 0, rateLimited: 0, retried: 0 };
  const transport: RequestOptions = {
    apiUrl,
    secretKey,
    pacer: new RequestPacer(limit),
    stats,
    retries: options.retries ?? 4,
    retryDelayMs: options.retryDelayMs ?? 500,
    maxRateLimitWaits: options.maxRateLimitWaits ?? 50,
    timeoutMs: options.timeoutMs ?? 30_000,
  };
  const get = <T>(path: string, query: [string, string][] = [], nullOn404 = false) =>
    sendWithRetries<T>(transport, path, query, nullOn404);

  const client: ClerkApiClient = {
    apiUrl,
    async listUsersPage(params = {}) {
      const answer = await get<unknown>("/v1/users", [...pagingQuery(params), ...userFilterQuery(params)]);
      // A bare array today; `{ data }` is accepted too, as newer API versions answer other listings.
      return listOf<UserJSON>(Array.isArray(answer) ? answer : (answer as { data?: unknown })?.data, "/v1/users");
    },
    async countUsers(params = {}) {
      const answer = await get<{ total_count?: unknown }>("/v1/users/count", userFilterQuery(params));
      if (typeof answer?.total_count !== "number") throw unreadable("/v1/users/count");
      return answer.total_count;
    },
    getUser: (id) => get<UserJSON>(`/v1/users/${encodeURIComponent(requireId(id, "A user id"))}`, [], true),
    async listOrganizationsPage(params = {}) {
      return pageOf<OrganizationJSON>(await get("/v1/organizations", pagingQuery(params)), "/v1/organizations");
    },
    getOrganization: (idOrSlug) =>
      get<OrganizationJSON>(
        `/v1/organizations/${encodeURIComponent(requireId(idOrSlug, "An organization"))}`,
        [],
        true,
      ),
    async listMembershipsPage(params = {}) {
      const path = params.organizationId
        ? `/v1/organizations/${encodeURIComponent(requireId(params.organizationId, "An organization id"))}/memberships`
        : "/v1/organization_memberships";
      return pageOf<OrganizationMembershipJSON>(await get(path, pagingQuery(params)), path);
    },
    walkUsers(walk = {}) {
      const size = checkWalkSize(walk.pageSize);
      return walkByCreatedAt(
        (createdAfter, offset) =>
          client.listUsersPage({ limit: size, offset, ...(createdAfter === undefined ? {} : { createdAfter }) }),
        size,
        walk.cursor,
      );
    },
    walkOrganizations(walk = {}) {
      const size = checkWalkSize(walk.pageSize);
      return walkOffset(
        async (offset) => (await client.listOrganizationsPage({ limit: size, offset })).data,
        size,
        walk.cursor,
      );
    },
    walkMemberships(walk = {}) {
      const size = checkWalkSize(walk.pageSize);
      const scope = walk.organizationId ? { organizationId: walk.organizationId } : {};
      return walkOffset(
        async (offset) => (await client.listMembershipsPage({ limit: size, offset, ...scope })).data,
        size,
        walk.cursor,
      );
    },
    stats: () => ({ ...stats }),
  };
  return client;
}

function unreadable(path: string): ClerkSyncError {
  return new ClerkSyncError("clerk_api_error", `Clerk's Backend API answered GET ${path} in an unexpected shape`);
}

/** The items of a listing, each checked to be an object with an id. */
function listOf<T>(items: unknown, path: string): T[] {
  if (!Array.isArray(items) || !items.every((i) => typeof i === "object" && i !== null && typeof i.id === "string")) {
    throw unreadable(path);
  }
  return items as T[];
}

/** A `{ data, total_count }` answer, checked. */
function pageOf<T>(answer: unknown, path: string): Page<T> {
  const page = answer as { data?: unknown; total_count?: unknown } | null;
  if (typeof page?.total_count !== "number") throw unreadable(path);
  return { data: listOf<T>(page.data, path), total_count: page.total_count };
}
