/**
 * The delivery log, read: the deliveries list (filters and keyset pages, newest first), one
 * delivery with its attempts, the rejections log, and the counts a health page shows. Every
 * list query is one index range read (test/delivery-log.explain.test.ts holds them to it): the
 * indexes `(filter, first_received_at, svix_id)` of `clerk_webhook_events` and
 * `(code, received_at)` / `(received_at)` of `clerk_webhook_rejections`.
 */
import { type ExpressionBuilder, type Kysely, type SelectQueryBuilder, sql } from "kysely";
import { ClerkSyncError } from "../core/errors.js";
import { DELIVERY_STATUSES, type DeliveryStatus } from "../core/schema.js";
import type { Queryable } from "./queries.js";
import type { ClerkSyncDatabase } from "./schema/database.js";
import { DELIVERY_COLUMNS } from "./write/write-rows.js";

/** What the deliveries list may be narrowed to; filters combine (AND). */
export interface DeliveryFilter {
  readonly status?: DeliveryStatus | undefined;
  /** An event type (`user.created`). */
  readonly type?: string | undefined;
  /** `data.id` of the payload (`user_…`, `org_…`). */
  readonly objectId?: string | undefined;
  readonly svixId?: string | undefined;
  /** First received at or after (ms). */
  readonly since?: number | undefined;
  /** First received before (ms). */
  readonly until?: number | undefined;
}

/** A page request: `after` is the `next` cursor of the page before (absent: the newest). */
export interface PageRequest {
  /** Rows per page, 1–500; default 50. */
  readonly limit?: number | undefined;
  readonly after?: string | undefined;
}

/** One page, newest first; `next` is absent on the last page. */
export interface Page<T> {
  readonly items: T[];
  readonly next?: string;
}

/** A delivery in the list (no payload). */
export interface DeliverySummary {
  svixId: string;
  type: string;
  objectType: string | null;
  objectId: string | null;
  eventTimestamp: number | null;
  firstReceivedAt: number;
  lastReceivedAt: number;
  deliveryCount: number;
  status: string;
  lastOutcome: string;
  errorCode: string | null;
  errorMessage: string | null;
  /** When retention removed the payload; null while it is kept. */
  payloadPrunedAt: number | null;
}

/** One attempt at a delivery (`clerk_webhook_attempts`). */
export interface DeliveryAttempt {
  attempt: number;
  receivedAt: number;
  /** `webhook`, `replay` or `force` (a forced replay). */
  source: string;
  outcome: string;
  httpStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  durationMs: number | null;
}

/** One delivery: its row, its raw payload (null once pruned) and its attempts, newest first. */
export interface DeliveryDetail extends DeliverySummary {
  payload: string | null;
  attempts: DeliveryAttempt[];
}

/** A refused request (`clerk_webhook_rejections`). */
export interface Rejection {
  id: string;
  receivedAt: number;
  code: string;
  httpStatus: number;
  svixId: string | null;
  sourceAddress: string | null;
  headerNames: string[];
  bodyBytes: number | null;
}

export interface RejectionFilter {
  readonly code?: string | undefined;
  readonly since?: number | undefined;
  readonly until?: number | undefined;
}

/** Counts for a health page, since a time. */
export interface DeliveryCounts {
  /** Deliveries first received since `since`, by status. */
  byStatus: Record<string, number>;
  /** Rejections since `since`, by code. */
  rejectionsByCode: Record<string, number>;
  /** The newest delivery's first receipt (ms), any time; null when none. */
  lastReceivedAt: number | null;
}

const MAX_LIMIT = 500;
const DEFAULT_LIMIT = 50;

type Db = Kysely<ClerkSyncDatabase>;
type EventsQuery<O> = SelectQueryBuilder<ClerkSyncDatabase, "clerk_webhook_events", O>;

/** A delivery row's columns without its payload, and whether that payload was pruned. */
const SUMMARY_COLUMNS = [
  ...(DELIVERY_COLUMNS.filter((column) => column !== "payload") as Exclude<
    (typeof DELIVERY_COLUMNS)[number],
    "payload"
  >[]),
  "payload_pruned_at" as const,
];

/**
 * The deliveries, newest first (by first receipt, then delivery id), filtered, one keyset page.
 *
 * @example
 * const page = await listDeliveries(store, { status: "failed" }, { limit: 20 });
 * const more = page.next ? await listDeliveries(store, { status: "failed" }, { after: page.next }) : undefined;
 */
export async function listDeliveries(
  store: Queryable,
  filter: DeliveryFilter = {},
  page: PageRequest = {},
): Promise<Page<DeliverySummary>> {
  const limit = pageLimit(page.limit);
  const rows = await deliveriesQuery(store.db, filter, page.after)
    .limit(limit + 1)
    .execute();
  const items = rows.slice(0, limit).map(toSummary);
  const last = items[items.length - 1];
  return rows.length > limit && last ? { items, next: encodeCursor(last.firstReceivedAt, last.svixId) } : { items };
}

/**
 * The query {@link listDeliveries} runs (the EXPLAIN test reads its plan). One equality filter
 * picks the index; the time range and the cursor are its range; the order is the index's.
 */
export function deliveriesQuery(
  db: Db,
  filter: DeliveryFilter,
  after?: string,
): EventsQuery<Record<(typeof SUMMARY_COLUMNS)[number], unknown>> {
  checkFilter(filter);
  let query = db.selectFrom("clerk_webhook_events").select(SUMMARY_COLUMNS) as unknown as EventsQuery<
    Record<(typeof SUMMARY_COLUMNS)[number], unknown>
  >;
  if (filter.svixId !== undefined) query = query.where("svix_id", "=", filter.svixId);
  if (filter.status !== undefined) query = query.where("status", "=", filter.status);
  if (filter.type !== undefined) query = query.where("type", "=", filter.type);
  if (filter.objectId !== undefined) query = query.where("object_id", "=", filter.objectId);
  if (filter.since !== undefined) query = query.where("first_received_at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("first_received_at", "<", filter.until);
  if (after !== undefined) {
    const [at, id] = decodeCursor(after);
    // (first_received_at, svix_id) < (at, id), spelled so that every dialect reads `<= at` as a
    // range of the index and the rest as a filter on it (an OR alone is two ranges and a sort).
    query = query
      .where("first_received_at", "<=", at)
      .where((eb: ExpressionBuilder<ClerkSyncDatabase, "clerk_webhook_events">) =>
        eb.or([eb("first_received_at", "<", at), eb("svix_id", "<", id)]),
      );
  }
  return query.orderBy("first_received_at", "desc").orderBy("svix_id", "desc");
}

/**
 * One delivery with its payload and attempts (newest first), or undefined.
 *
 * @example
 * const d = await getDelivery(store, "msg_2abc");
 * if (d?.status === "failed") console.log(d.errorCode, d.attempts);
 */
export async function getDelivery(store: Queryable, svixId: string): Promise<DeliveryDetail | undefined> {
  const row = await store.db
    .selectFrom("clerk_webhook_events")
    .select([...SUMMARY_COLUMNS, "payload"])
    .where("svix_id", "=", svixId)
    .executeTakeFirst();
  if (!row) return undefined;
  const attempts = await store.db
    .selectFrom("clerk_webhook_attempts")
    .selectAll()
    .where("svix_id", "=", svixId)
    .orderBy("attempt", "desc")
    .execute();
  const summary = toSummary(row);
  return {
    ...summary,
    payload: summary.payloadPrunedAt === null ? String(row.payload) : null,
    attempts: attempts.map((a) => ({
      attempt: Number(a.attempt),
      receivedAt: Number(a.received_at),
      source: a.source,
      outcome: a.outcome,
      httpStatus: a.http_status == null ? null : Number(a.http_status),
      errorCode: a.error_code,
      errorMessage: a.error_message,
      durationMs: a.duration_ms == null ? null : Number(a.duration_ms),
    })),
  };
}

/**
 * The rejections log, newest first, one keyset page.
 *
 * @example
 * const { items } = await listRejections(store, { code: "invalid_signature" });
 */
export async function listRejections(
  store: Queryable,
  filter: RejectionFilter = {},
  page: PageRequest = {},
): Promise<Page<Rejection>> {
  const limit = pageLimit(page.limit);
  const rows = await rejectionsQuery(store.db, filter, page.after)
    .limit(limit + 1)
    .execute();
  const items: Rejection[] = rows.slice(0, limit).map((r) => ({
    id: r.id,
    receivedAt: Number(r.received_at),
    code: r.code,
    httpStatus: Number(r.http_status),
    svixId: r.svix_id,
    sourceAddress: r.source_address,
    headerNames: r.header_names ? r.header_names.split(",") : [],
    bodyBytes: r.body_bytes == null ? null : Number(r.body_bytes),
  }));
  const last = items[items.length - 1];
  return rows.length > limit && last ? { items, next: encodeCursor(last.receivedAt, last.id) } : { items };
}

/** The query {@link listRejections} runs. */
export function rejectionsQuery(db: Db, filter: RejectionFilter, after?: string) {
  checkRange(filter.since, filter.until);
  let query = db.selectFrom("clerk_webhook_rejections").selectAll();
  if (filter.code !== undefined) query = query.where("code", "=", filter.code);
  if (filter.since !== undefined) query = query.where("received_at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("received_at", "<", filter.until);
  if (after !== undefined) {
    const [at, id] = decodeCursor(after);
    query = query.where("received_at", "<=", at).where((eb) => eb.or([eb("received_at", "<", at), eb("id", "<", id)]));
  }
  return query.orderBy("received_at", "desc").orderBy("id", "desc");
}

/**
 * Counts for a health page: deliveries by status and rejections by code since `since` (ms), and
 * the newest delivery's time.
 *
 * @example
 * const { byStatus } = await deliveryCounts(store, Date.now() - 3_600_000);
 */
export async function deliveryCounts(store: Queryable, since: number): Promise<DeliveryCounts> {
  const db = store.db;
  const byStatus: Record<string, number> = {};
  // One index range per status (status, first_received_at, …) rather than a scan grouped by status.
  for (const status of DELIVERY_STATUSES) {
    const row = await db
      .selectFrom("clerk_webhook_events")
      .select(sql<number>`count(*)`.as("n"))
      .where("status", "=", status)
      .where("first_received_at", ">=", since)
      .executeTakeFirst();
    byStatus[status] = Number(row?.n ?? 0);
  }
  const rejections = await db
    .selectFrom("clerk_webhook_rejections")
    .select(["code", sql<number>`count(*)`.as("n")])
    .where("received_at", ">=", since)
    .groupBy("code")
    .execute();
  const last = await db
    .selectFrom("clerk_webhook_events")
    .select("first_received_at")
    .orderBy("first_received_at", "desc")
    .limit(1)
    .executeTakeFirst();
  return {
    byStatus,
    rejectionsByCode: Object.fromEntries(rejections.map((r) => [r.code, Number(r.n)])),
    lastReceivedAt: last ? Number(last.first_received_at) : null,
  };
}

function toSummary(row: Record<string, unknown>): DeliverySummary {
  const num = (v: unknown) => (v == null ? null : Number(v));
  return {
    svixId: String(row.svix_id),
    type: String(row.type),
    objectType: (row.object_type as string | null) ?? null,
    objectId: (row.object_id as string | null) ?? null,
    eventTimestamp: num(row.event_timestamp),
    firstReceivedAt: Number(row.first_received_at),
    lastReceivedAt: Number(row.last_received_at),
    deliveryCount: Number(row.delivery_count),
    status: String(row.status),
    lastOutcome: String(row.last_outcome),
    errorCode: (row.error_code as string | null) ?? null,
    errorMessage: (row.error_message as string | null) ?? null,
    payloadPrunedAt: num(row.payload_pruned_at),
  };
}

function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ClerkSyncError("invalid_filter", `The page limit must be a whole number from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

/** Refuses a filter that cannot mean anything: an unknown status, a backwards time range. */
export function checkFilter(filter: DeliveryFilter): void {
  if (filter.status !== undefined && !DELIVERY_STATUSES.includes(filter.status)) {
    throw new ClerkSyncError(
      "invalid_filter",
      `Unknown delivery status "${filter.status}" (one of ${DELIVERY_STATUSES.join(", ")})`,
    );
  }
  checkRange(filter.since, filter.until);
}

function checkRange(since: number | undefined, until: number | undefined): void {
  for (const [name, value] of [
    ["since", since],
    ["until", until],
  ] as const) {
    if (value !== undefined && !Number.isSafeInteger(value)) {
      throw new ClerkSyncError("invalid_filter", `"${name}" must be a time in ms`);
    }
  }
  if (since !== undefined && until !== undefined && since >= until) {
    throw new ClerkSyncError("invalid_filter", `"since" must be before "until"`);
  }
}

/** An opaque cursor: base64url of `[time, id]`. */
function encodeCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString("base64url");
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === "string") {
      return [value[0] as number, value[1] as string];
    }
  } catch {
    // Answered below.
  }
  throw new ClerkSyncError("invalid_filter", "The page cursor is not one this list answered");
}
