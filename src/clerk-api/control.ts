/**
 * The stand-in's control routes under `/__stand-in/`: the mutation API and the counters over
 * HTTP, for a stand-in running in another process (`clerk-sync fake-clerk`). They take the
 * stand-in's secret key like the API, and are neither counted nor rate limited.
 *
 *   GET    /__stand-in/stats                 request counters
 *   GET    /__stand-in/snapshot              every record, in the API's JSON
 *   POST   /__stand-in/users                 create (body: UserInput)
 *   PATCH  /__stand-in/users/{id}            update (body: fields to merge)
 *   DELETE /__stand-in/users/{id}            delete
 *   … the same for /__stand-in/organizations and /__stand-in/memberships
 */
import { isClerkSyncError } from "../core/errors.js";
import type { Reply } from "./routes.js";
import type { StandInState } from "./state.js";

export const CONTROL_PREFIX = "/__stand-in/";

function reply(status: number, value: unknown): Reply {
  return { status, headers: { "content-type": "application/json" }, body: JSON.stringify(value) };
}

const failure = (status: number, code: string, message: string) => reply(status, { error: { code, message } });

type Handler = (id: string, body: Record<string, unknown>) => unknown;

/** Answers a control request; `body` is the raw request body. */
export function handleControl(
  state: StandInState,
  stats: () => unknown,
  method: string,
  pathname: string,
  body: string,
): Reply {
  let parts: string[];
  try {
    parts = pathname.slice(CONTROL_PREFIX.length).split("/").map(decodeURIComponent);
  } catch {
    return failure(404, "not_found", "Malformed path");
  }
  const [resource, id, extra] = parts;
  if (method === "GET" && id === undefined && resource === "stats") return reply(200, stats());
  if (method === "GET" && id === undefined && resource === "snapshot") return reply(200, state.snapshot());
  const handlers: Record<string, Record<string, Handler>> = {
    users: {
      POST: (_, b) => state.createUser(b),
      PATCH: (i, b) => state.updateUser(i, b),
      DELETE: (i) => state.deleteUser(i),
    },
    organizations: {
      POST: (_, b) => state.createOrganization(b as never),
      PATCH: (i, b) => state.updateOrganization(i, b),
      DELETE: (i) => state.deleteOrganization(i),
    },
    memberships: {
      POST: (_, b) => state.createMembership(b as never),
      PATCH: (i, b) => state.updateMembership(i, b),
      DELETE: (i) => state.deleteMembership(i),
    },
  };
  const handler = handlers[resource ?? ""]?.[method];
  const wantsId = method !== "POST";
  if (!handler || extra !== undefined || (wantsId ? !id : id !== undefined)) {
    return failure(404, "not_found", `No control route ${method} ${pathname}`);
  }
  let input: unknown = {};
  if (body.trim() !== "") {
    try {
      input = JSON.parse(body);
    } catch {
      return failure(400, "invalid_payload", "The body is not JSON");
    }
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return failure(400, "invalid_payload", "The body must be a JSON object");
  }
  try {
    return reply(200, handler(id ?? "", input as Record<string, unknown>));
  } catch (error) {
    if (isClerkSyncError(error)) return failure(error.code === "not_found" ? 404 : 422, error.code, error.message);
    throw error;
  }
}
