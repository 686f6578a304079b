/**
 * The stand-in's routes: the read side of Clerk's Backend API that backfill, reconciliation and
 * read-through use, with Clerk's parameters, bounds, error bodies and status codes.
 */
import { randomBytes } from "node:crypto";
import {
  MEMBERSHIP_ORDER_FIELDS,
  ORGANIZATION_ORDER_FIELDS,
  type OrderBy,
  parseOrderBy,
  USER_ORDER_FIELDS,
} from "./query.js";
import type { RateVerdict } from "./rate-limiter.js";
import type { StandInState, UserFilter } from "./state.js";

/** What the server writes back. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One error of Clerk's error body. */
export interface ClerkErrorJSON {
  message: string;
  long_message: string;
  code: string;
  meta?: Record<string, unknown>;
}

/** What a route needs from the stand-in besides its data. */
export interface RouteContext {
  state: StandInState;
  secretKey: string;
  /** Counts a request of an authenticated key against the rate limit (absent: no limit). */
  rateLimit?: (key: string) => RateVerdict;
}

/** Clerk's error body: `{ errors: [{ message, long_message, code, meta? }], clerk_trace_id }`. */
export function errorReply(status: number, error: ClerkErrorJSON, headers: Record<string, string> = {}): Reply {
  const traceId = randomBytes(16).toString("hex");
  return {
    status,
    headers: { "content-type": "application/json", "x-clerk-trace-id": traceId, ...headers },
    body: JSON.stringify({ errors: [error], clerk_trace_id: traceId }),
  };
}

function json(value: unknown): Reply {
  // Exactly `application/json`: @clerk/backend parses a body as JSON only on that exact value.
  return { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify(value) };
}

const notFound = () =>
  errorReply(404, { message: "not found", long_message: "Resource not found", code: "resource_not_found" });

class ParamError extends Error {
  constructor(
    readonly param: string,
    readonly code: "form_param_format_invalid" | "form_param_value_invalid",
    readonly longMessage: string,
  ) {
    super(longMessage);
  }
}

function integer(params: URLSearchParams, name: string, fallback: number | undefined, min: number, max?: number) {
  const raw = params.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ParamError(name, "form_param_format_invalid", `${name} must be an integer`);
  const value = Number(raw);
  if (value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `greater than or equal to ${min}` : `between ${min} and ${max}`;
    throw new ParamError(name, "form_param_value_invalid", `${name} must be ${range}`);
  }
  return value;
}

/** `limit` (1–500, default 10) and `offset` (≥ 0, default 0), as every Clerk listing takes them. */
function paging(params: URLSearchParams): { limit: number; offset: number } {
  return { limit: integer(params, "limit", 10, 1, 500)!, offset: integer(params, "offset", 0, 0)! };
}

function orderBy(params: URLSearchParams, fields: readonly string[], fallback: string): OrderBy {
  const raw = params.get("order_by") || fallback;
  const order = parseOrderBy(raw, fields);
  if (!order) {
    throw new ParamError(
      "order_by",
      "form_param_format_invalid",
      `order_by must be one of ${fields.join(", ")}, each with an optional + or - prefix`,
    );
  }
  return order;
}

function list(params: URLSearchParams, name: string): string[] | undefined {
  const values = params.getAll(name).filter((v) => v !== "");
  return values.length > 0 ? values : undefined;
}

function userFilter(params: URLSearchParams): UserFilter {
  const filter: UserFilter = {};
  const after = integer(params, "created_at_after", undefined, 0);
  const before = integer(params, "created_at_before", undefined, 0);
  if (after !== undefined) filter.createdAfter = after;
  if (before !== undefined) filter.createdBefore = before;
  const userIds = list(params, "user_id");
  const emails = list(params, "email_address");
  const externalIds = list(params, "external_id");
  if (userIds) filter.userIds = userIds;
  if (emails) filter.emailAddresses = emails;
  if (externalIds) filter.externalIds = externalIds;
  return filter;
}

/** The route a path matches, as a template (`/v1/users/{id}`), with its parameters. */
export function matchRoute(pathname: string): { template: string; id?: string } | null {
  const parts = pathname.split("/").filter((p) => p !== "");
  if (parts[0] !== "v1") return null;
  let decoded: string[];
  try {
    decoded = parts.map(decodeURIComponent);
  } catch {
    return null; // a malformed %-escape: no such route
  }
  const [, resource, id, sub, ...rest] = decoded;
  if (rest.length > 0) return null;
  if (resource === "users") {
    if (id === undefined) return { template: "/v1/users" };
    if (sub !== undefined) return null;
    return id === "count" ? { template: "/v1/users/count" } : { template: "/v1/users/{id}", id };
  }
  if (resource === "organizations") {
    if (id === undefined) return { template: "/v1/organizations" };
    if (sub === undefined) return { template: "/v1/organizations/{id}", id };
    return sub === "memberships" ? { template: "/v1/organizations/{id}/memberships", id } : null;
  }
  if (resource === "organization_memberships" && id === undefined) return { template: "/v1/organization_memberships" };
  return null;
}

/** Checks the key, counts the request against the limit, and answers it. */
export function handleRequest(
  ctx: RouteContext,
  method: string,
  url: URL,
  authorization: string | undefined,
): { template: string; reply: Reply } {
  const match = matchRoute(url.pathname);
  const template = match?.template ?? "unknown";
  const bearer = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
  if (!bearer) {
    return {
      template,
      reply: errorReply(401, {
        message: "Invalid Authorization header format",
        long_message: "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'",
        code: "authorization_header_format_invalid",
      }),
    };
  }
  if (bearer !== ctx.secretKey) {
    const message = "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.";
    return { template, reply: errorReply(401, { message, long_message: message, code: "clerk_key_invalid" }) };
  }
  const verdict = ctx.rateLimit?.(bearer);
  if (verdict && !verdict.allowed) {
    const seconds = String(verdict.retryAfterSeconds);
    return {
      template,
      reply: errorReply(
        429,
        {
          message: "Too many requests",
          long_message: `Too many requests, retry after ${seconds} seconds`,
          code: "too_many_requests",
        },
        { "retry-after": seconds },
      ),
    };
  }
  if (!match) return { template, reply: notFound() };
  if (method !== "GET") {
    const reply = errorReply(405, {
      message: "method not allowed",
      long_message: `The stand-in answers GET only on ${template}`,
      code: "method_not_allowed",
    });
    reply.headers.allow = "GET";
    return { template, reply };
  }
  try {
    return { template, reply: answer(ctx.state, match.template, match.id ?? "", url.searchParams) };
  } catch (error) {
    if (!(error instanceof ParamError)) throw error;
    return {
      template,
      reply: errorReply(422, {
        message: "is invalid",
        long_message: error.longMessage,
        code: error.code,
        meta: { param_name: error.param },
      }),
    };
  }
}

function answer(state: StandInState, template: string, id: string, params: URLSearchParams): Reply {
  switch (template) {
    case "/v1/users": {
      const { limit, offset } = paging(params);
      const order = orderBy(params, USER_ORDER_FIELDS, "-created_at");
      return json(state.listUsers(userFilter(params), order, offset, limit));
    }
    case "/v1/users/count":
      return json({ object: "total_count", total_count: state.countUsers(userFilter(params)) });
    case "/v1/users/{id}": {
      const user = state.getUser(id);
      return user ? json(user) : notFound();
    }
    case "/v1/organizations": {
      const { limit, offset } = paging(params);
      const order = orderBy(params, ORGANIZATION_ORDER_FIELDS, "-created_at");
      return json(state.listOrganizations(order, offset, limit, params.get("query") || undefined));
    }
    case "/v1/organizations/{id}": {
      const org = state.getOrganization(id);
      return org ? json(org) : notFound();
    }
    case "/v1/organizations/{id}/memberships": {
      const org = state.getOrganization(id);
      if (!org) return notFound();
      const { limit, offset } = paging(params);
      const order = orderBy(params, MEMBERSHIP_ORDER_FIELDS, "-created_at");
      const userIds = list(params, "user_id");
      return json(
        state.listMemberships({ organizationId: org.id, ...(userIds ? { userIds } : {}) }, order, offset, limit),
      );
    }
    default: {
      const { limit, offset } = paging(params);
      const order = orderBy(params, MEMBERSHIP_ORDER_FIELDS, "-created_at");
      return json(state.listMemberships({}, order, offset, limit));
    }
  }
}
