/**
 * Read-through of a missing row, for the sign-up race (DESIGN.md, "What webhooks never send"):
 * the user finishes signing up and reaches the app before `user.created` has arrived. `ensureUser`
 * reads the mirror and, only when the row is missing, fetches the object from Clerk's Backend API
 * and writes it through the same path as a webhook (`applySnapshot`: the version guard and the
 * tombstone rules), so it can race the webhook (and itself) safely: the row ends the same
 * whichever commits first, and neither fails.
 */
import type { ClerkApiClient } from "../clerk-api/client.js";
import type { DeleteMode } from "../core/engine.js";
import { ClerkSyncError } from "../core/errors.js";
import { mapSnapshot, type SnapshotKind } from "../core/mappers.js";
import { applySnapshot } from "../core/sync-rules.js";
import { type ClerkOrganization, type ClerkUser, findUserById, normalizeRow } from "../store/queries.js";
import type { ClerkSyncStore } from "../store/store.js";

/** What a read-through needs: the mirror, a Backend API client, and how deletions are stored. */
export interface ReadThroughSource {
  /** The store (migrated) the webhooks write to. */
  store: ClerkSyncStore;
  /** A client of the same Clerk instance (`createClerkApiClient()`); only these lookups are used. */
  client: Pick<ClerkApiClient, "getUser" | "getOrganization">;
  /** As the receiver's `deleteMode` (default `soft`): a hard tombstone takes no data at all. */
  deleteMode?: DeleteMode;
}

/** Fetches in flight per store and client, keyed by kind and id: concurrent calls share one. */
const inFlight = new WeakMap<ClerkSyncStore, WeakMap<object, Map<string, Promise<unknown>>>>();

function shared<T>(source: ReadThroughSource, key: string, run: () => Promise<T>): Promise<T> {
  let byClient = inFlight.get(source.store);
  if (!byClient) {
    byClient = new WeakMap();
    inFlight.set(source.store, byClient);
  }
  let calls = byClient.get(source.client);
  if (!calls) {
    calls = new Map();
    byClient.set(source.client, calls);
  }
  const running = calls.get(key) as Promise<T> | undefined;
  if (running) return running;
  const started = run().finally(() => calls.delete(key));
  calls.set(key, started);
  return started;
}

function checkId(id: unknown, what: string): string {
  // The same rule as the API client's, checked before the mirror is read.
  if (typeof id !== "string" || id.trim() === "" || id.includes("/")) {
    throw new ClerkSyncError("invalid_config", `${what} must be a non-empty id`);
  }
  return id;
}

/** Writes an object read from the API through the sync rules, in one transaction. */
async function writeSnapshot(source: ReadThroughSource, kind: SnapshotKind, data: object): Promise<void> {
  const mutations = mapSnapshot(kind, data as Record<string, unknown>);
  const hard = source.deleteMode === "hard";
  // Safe to repeat (the store runs it again after a lost race): applySnapshot reads, then writes.
  await source.store.transaction(async (tx) => {
    for (const mutation of mutations) await applySnapshot(tx, mutation, hard);
  });
}

/** The user's row, deleted or not. */
function readUser(store: ClerkSyncStore, id: string): Promise<ClerkUser | undefined> {
  return findUserById(store, id, { includeDeleted: true });
}

/** A live user's row, or null (absent or tombstoned). */
const live = <T extends { deleted_at: number | null }>(row: T | undefined): T | null =>
  row && row.deleted_at === null ? row : null;

/**
 * The user's mirrored row, fetched from Clerk's Backend API and written through the sync rules
 * when it is missing (the sign-up race). Answers:
 * - the row (as `findUserById` returns it) when it is mirrored: no API request;
 * - null when it is a tombstone (a deleted user stays deleted; no API request);
 * - otherwise the row written from `GET /v1/users/{id}`, or null when Clerk answers 404
 *   (nothing is written).
 *
 * Any number of concurrent calls and the `user.created` webhook give one row and no error; calls
 * in one process for the same store, client and id share one fetch. Throws `invalid_config` for
 * an empty id, `clerk_api_unavailable` / `clerk_api_error` when the API fails, and
 * `store_unavailable` when the database does; nothing is written then.
 *
 * @example
 * const client = createClerkApiClient(); // CLERK_SECRET_KEY, CLERK_API_URL
 * const user = await ensureUser({ store, client }, userId);
 */
export async function ensureUser(source: ReadThroughSource, userId: string): Promise<ClerkUser | null> {
  const id = checkId(userId, "A user id");
  return shared(source, `user:${id}`, async () => {
    const row = await readUser(source.store, id);
    if (row) return live(row);
    const fetched = await source.client.getUser(id);
    if (!fetched) return null;
    await writeSnapshot(source, "user", fetched);
    return live(await readUser(source.store, id));
  });
}

/** An organization's row by id, deleted or not. */
async function readOrganization(store: ClerkSyncStore, id: string): Promise<ClerkOrganization | undefined> {
  const row = await store.db.selectFrom("clerk_organizations").selectAll().where("id", "=", id).executeTakeFirst();
  return row && normalizeRow<ClerkOrganization>(row, store.dialect);
}

/** A live organization's row by slug (a deleted organization's slug may be taken again). */
async function readOrganizationBySlug(store: ClerkSyncStore, slug: string): Promise<ClerkOrganization | undefined> {
  const row = await store.db
    .selectFrom("clerk_organizations")
    .selectAll()
    .where("slug", "=", slug)
    .where("deleted_at", "is", null)
    .executeTakeFirst();
  return row && normalizeRow<ClerkOrganization>(row, store.dialect);
}

/**
 * The organization's mirrored row by id or slug, fetched from Clerk's Backend API
 * (`GET /v1/organizations/{id or slug}`) and written through the sync rules when it is missing;
 * null when its row is a tombstone (looked up by id) or when Clerk answers 404. The same
 * guarantees and errors as {@link ensureUser}.
 *
 * @example
 * const org = await ensureOrganization({ store, client }, "org_2…"); // or the slug
 */
export async function ensureOrganization(
  source: ReadThroughSource,
  idOrSlug: string,
): Promise<ClerkOrganization | null> {
  const key = checkId(idOrSlug, "An organization id or slug");
  return shared(source, `organization:${key}`, async () => {
    const byId = await readOrganization(source.store, key);
    if (byId) return live(byId);
    const bySlug = await readOrganizationBySlug(source.store, key);
    if (bySlug) return bySlug;
    const fetched = await source.client.getOrganization(key);
    if (!fetched) return null;
    await writeSnapshot(source, "organization", fetched);
    return live(await readOrganization(source.store, fetched.id));
  });
}
