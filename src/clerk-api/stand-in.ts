/**
 * A local stand-in of Clerk's Backend API for tests, benchmarks and users' CI: the listings and
 * lookups backfill, reconciliation and read-through use, Clerk's bounds, error bodies and rate
 * limit, seeded data, and mutations that can send the matching signed webhooks. Nothing reaches
 * Clerk. Point a client at it with `apiUrl` (`CLERK_API_URL`) and its `secretKey`.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ClerkSyncError } from "../core/errors.js";
import type { DeletedObjectJSON, OrganizationJSON, OrganizationMembershipJSON, UserJSON } from "../core/events.js";
import { CONTROL_PREFIX, handleControl } from "./control.js";
import { generateData } from "./generate.js";
import { seededRandom } from "./random.js";
import { CLERK_DEVELOPMENT_LIMIT, type RateLimit, WindowLimiter } from "./rate-limiter.js";
import { errorReply, handleRequest, type Reply } from "./routes.js";
import {
  type MembershipInput,
  type OrganizationInput,
  type StandInData,
  StandInState,
  type UserInput,
} from "./state.js";
import { type WebhookDelivery, WebhookSender, type WebhookTarget } from "./webhooks.js";

/** Options of `startClerkApiStandIn`; all optional. */
export interface ClerkApiStandInOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** The secret key requests must bring (`sk_test_…` / `sk_live_…`; default a fresh `sk_test_…`). */
  secretKey?: string;
  /** Seed of the generated data and of the ids of created objects (default 1). */
  seed?: number;
  /** How many users to generate (default 0). */
  users?: number;
  /** How many organizations to generate, with their memberships (default 0). */
  organizations?: number;
  /** Range of generated `created_at` values, epoch ms (default 2022-01-01 to 2025-01-01). */
  from?: number;
  to?: number;
  /** Records to load (after the generated ones), in the API's JSON, e.g. from `snapshot()`. */
  data?: StandInData;
  /** Requests per window and key (default Clerk's development limit, 100 per 10 s); false: no limit. */
  rateLimit?: RateLimit | false;
  /** Send the webhook of each mutation, signed, to this endpoint. */
  webhooks?: WebhookTarget;
  /** The clock (default Date.now): creation and update times, rate-limit windows, event timestamps. */
  now?: () => number;
}

/** Request counters: everything the stand-in answered on the API, per route template and status. */
export interface StandInStats {
  requests: number;
  /** Per route template, e.g. `{"/v1/users": 12, "/v1/users/{id}": 3}` (`unknown` for other paths). */
  byRoute: Record<string, number>;
  /** Per status code, e.g. `{"200": 14, "429": 1}`; `reset` counts connections dropped by `failNext`. */
  byStatus: Record<string, number>;
  /** Requests answered 429. */
  rateLimited: number;
}

/** A running stand-in. */
export interface ClerkApiStandIn {
  /** Base URL, e.g. `http://127.0.0.1:41234`: a client's `apiUrl` / `CLERK_API_URL` (routes are under `/v1`). */
  readonly url: string;
  /** The secret key requests must bring. */
  readonly secretKey: string;
  /** The rate limit in force, or null. */
  readonly rateLimit: Required<RateLimit> | null;
  createUser(input?: UserInput): UserJSON;
  /** Merges `patch` into the user; `updated_at` moves to now (and always forward). */
  updateUser(id: string, patch: Partial<UserJSON>): UserJSON;
  /** Deletes the user and its memberships: from now on 404 by id and absent from listings. */
  deleteUser(id: string): DeletedObjectJSON;
  createOrganization(input: OrganizationInput): OrganizationJSON;
  updateOrganization(idOrSlug: string, patch: Partial<OrganizationJSON>): OrganizationJSON;
  deleteOrganization(idOrSlug: string): DeletedObjectJSON;
  createMembership(input: MembershipInput): OrganizationMembershipJSON;
  updateMembership(
    id: string,
    patch: { role?: string; public_metadata?: Record<string, unknown> },
  ): OrganizationMembershipJSON;
  deleteMembership(id: string): OrganizationMembershipJSON;
  /** Every record in the API's JSON (loadable again through `data`). */
  snapshot(): Required<StandInData>;
  /** The request counters since start (or the last `resetStats`); over HTTP at `GET /__stand-in/stats`. */
  stats(): StandInStats;
  resetStats(): void;
  /** Answers the next `count` API requests with `kind`: a status (default 503) or `reset` (connection dropped). */
  failNext(count: number, kind?: number | "reset"): void;
  /** Waits until every webhook queued so far was delivered; lists all deliveries. */
  webhooksSettled(): Promise<WebhookDelivery[]>;
  close(): Promise<void>;
}

const SECRET_KEY = /^sk_(test|live)_\S+$/;

const emptyStats = (): StandInStats => ({ requests: 0, byRoute: {}, byStatus: {}, rateLimited: 0 });

/**
 * Starts a stand-in of Clerk's Backend API on 127.0.0.1.
 *
 * @example
 * const clerk = await startClerkApiStandIn({ users: 2000, organizations: 50, rateLimit: { requests: 100 } });
 * const client = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey });
 * clerk.createUser({ first_name: "Ann" }); // signs up while the client walks the users
 * await clerk.close();
 */
export async function startClerkApiStandIn(options: ClerkApiStandInOptions = {}): Promise<ClerkApiStandIn> {
  const secretKey = options.secretKey ?? `sk_test_${randomBytes(20).toString("hex")}`;
  if (!SECRET_KEY.test(secretKey)) {
    throw new ClerkSyncError("invalid_config", "The stand-in's secret key must start with sk_test_ or sk_live_");
  }
  const now = options.now ?? Date.now;
  const seed = options.seed ?? 1;
  const instanceId = `ins_${randomBytes(13).toString("hex").slice(0, 26)}`;
  const sender = options.webhooks ? new WebhookSender(options.webhooks, now, instanceId) : undefined;
  const state = new StandInState(now, seededRandom(seed ^ 0x5eed), (type, data) => sender?.send(type, data));
  state.load(
    generateData({
      seed,
      users: options.users ?? 0,
      organizations: options.organizations ?? 0,
      ...(options.from !== undefined ? { from: options.from } : {}),
      ...(options.to !== undefined ? { to: options.to } : {}),
    }),
  );
  if (options.data) state.load(options.data);

  const limit = options.rateLimit === false ? null : { ...CLERK_DEVELOPMENT_LIMIT, ...options.rateLimit };
  const limiter = limit ? new WindowLimiter(limit, now) : undefined;
  let stats = emptyStats();
  const failures: Array<number | "reset"> = [];

  const count = (route: string, status: string) => {
    stats.requests++;
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (status === "429") stats.rateLimited++;
  };
  const write = (res: ServerResponse, reply: Reply) => {
    res.writeHead(reply.status, { ...reply.headers, "content-length": Buffer.byteLength(reply.body) });
    res.end(reply.body);
  };

  const api = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const failure = failures.shift();
    if (failure !== undefined) {
      count("unknown", String(failure));
      if (failure === "reset") {
        req.socket.destroy();
        return;
      }
      const message = "The stand-in was told to fail this request";
      write(res, errorReply(failure, { message, long_message: message, code: "internal_clerk_error" }));
      return;
    }
    const { template, reply } = handleRequest(
      { state, secretKey, ...(limiter ? { rateLimit: (key: string) => limiter.take(key) } : {}) },
      req.method ?? "GET",
      url,
      req.headers.authorization,
    );
    count(template, String(reply.status));
    write(res, reply);
  };

  const control = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.headers.authorization !== `Bearer ${secretKey}`) {
      write(res, {
        status: 401,
        headers: { "content-type": "application/json" },
        body: '{"error":{"code":"unauthorized"}}',
      });
      return;
    }
    const body = Buffer.concat(chunks).toString("utf8");
    write(
      res,
      handleControl(state, () => stats, req.method ?? "GET", url.pathname, body),
    );
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    if (url.pathname.startsWith(CONTROL_PREFIX)) {
      control(req, res, url).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        write(res, {
          status: 500,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: { code: "internal", message } }),
        });
      });
      return;
    }
    req.resume();
    try {
      api(req, res, url);
    } catch (error) {
      // A bug in the stand-in answers 500 (which clients retry) instead of ending the process.
      const message = error instanceof Error ? error.message : String(error);
      count("unknown", "500");
      write(res, errorReply(500, { message: "internal error", long_message: message, code: "internal_clerk_error" }));
    }
  };

  const server = createServer(listener);
  server.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";

  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    secretKey,
    rateLimit: limit,
    createUser: (input) => state.createUser(input),
    updateUser: (id, patch) => state.updateUser(id, patch),
    deleteUser: (id) => state.deleteUser(id),
    createOrganization: (input) => state.createOrganization(input),
    updateOrganization: (id, patch) => state.updateOrganization(id, patch),
    deleteOrganization: (id) => state.deleteOrganization(id),
    createMembership: (input) => state.createMembership(input),
    updateMembership: (id, patch) => state.updateMembership(id, patch),
    deleteMembership: (id) => state.deleteMembership(id),
    snapshot: () => state.snapshot(),
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
    failNext: (n, kind = 503) => {
      for (let i = 0; i < n; i++) failures.push(kind);
    },
    webhooksSettled: async () => (sender ? sender.settled() : []),
    close: async () => {
      await sender?.settled();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
