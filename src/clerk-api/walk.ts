/**
 * Walking a whole listing while it changes. Users sign up, objects are deleted, and an offset
 * page is not a point in time: a deletion before the offset moves unread items back behind it
 * (they would be skipped), an insertion moves read items forward (they would be read twice).
 *
 * Every walk here reads in ascending `created_at`, where new objects land at the end, and
 * overlaps each page with the previous one: a read is accepted only when its first item is one
 * already seen (or it starts at the very beginning), which proves nothing unread lies before
 * it; otherwise the read steps further back. Items already seen are dropped, so each item is
 * handed out once per walk.
 *
 * Users have a better cursor: `created_at_after` (strictly after, in ms). A walk of users keeps
 * the `created_at` of the last user read and the ids read with that same `created_at`, and
 * reads on from just before it (`created_at_after = created_at - 1`), dropping those ids, so
 * users sharing a `created_at` across a page boundary are neither skipped nor read twice. A run
 * of equal `created_at` values longer than a page is paged through with the overlap rule above.
 */

/** One page of a walk and the cursor that resumes the walk after it. */
export interface WalkPage<T, C> {
  items: T[];
  cursor: C;
}

/**
 * Where a walk of users stands: the `created_at` of the last user handed out and the ids handed
 * out with that `created_at`. Plain JSON: store it to resume a walk in another process.
 */
export interface UsersCursor {
  createdAt: number;
  ids: string[];
}

/**
 * Where an offset walk (organizations, memberships) stands: how far it has read, and the ids of
 * its last page (the overlap that proves nothing was skipped when it resumes).
 */
export interface OffsetCursor {
  offset: number;
  ids: string[];
}

/** Reads `limit` items from `offset` on, in a listing whose order is stable. */
export type ReadAt<T> = (offset: number) => Promise<T[]>;

/**
 * Reads on from `position` in a listing of which the items in `seen` were handed out: the first
 * read starts `overlap` items earlier, and a read that does not start on a seen item (or at 0)
 * steps back further. Returns the accepted read and where the next one starts.
 */
export async function readOn<T extends { id: string }>(
  read: ReadAt<T>,
  seen: ReadonlySet<string>,
  position: number,
): Promise<{ page: T[]; fresh: T[]; next: number }> {
  let back = Math.min(position, 1);
  for (;;) {
    const offset = position - back;
    const page = await read(offset);
    const first = page[0];
    if (offset === 0 || (first !== undefined && seen.has(first.id))) {
      return { page, fresh: page.filter((item) => !seen.has(item.id)), next: offset + page.length };
    }
    back = Math.min(position, back * 4 + 4);
  }
}

/**
 * Walks an offset listing in ascending `created_at` to its end, one page per yield.
 *
 * @example
 * for await (const { items, cursor } of walkOffset((offset) => listPage(offset), 500)) save(items, cursor);
 */
export async function* walkOffset<T extends { id: string }>(
  read: ReadAt<T>,
  limit: number,
  start?: OffsetCursor,
): AsyncGenerator<WalkPage<T, OffsetCursor>> {
  const seen = new Set(start?.ids ?? []);
  let position = start?.offset ?? 0;
  for (;;) {
    const { page, fresh, next } = await readOn(read, seen, position);
    for (const item of fresh) seen.add(item.id);
    position = next;
    if (fresh.length > 0) yield { items: fresh, cursor: { offset: position, ids: page.map((i) => i.id) } };
    if (page.length < limit) return;
  }
}

/**
 * Walks users in ascending `created_at` with `created_at_after` as the cursor, one page per yield.
 * `read(createdAfter, offset)` lists users created strictly after `createdAfter` (all when
 * undefined) in ascending `created_at`, from `offset` on.
 */
export async function* walkByCreatedAt<T extends { id: string; created_at: number }>(
  read: (createdAfter: number | undefined, offset: number) => Promise<T[]>,
  limit: number,
  start?: UsersCursor,
): AsyncGenerator<WalkPage<T, UsersCursor>> {
  let createdAt = start?.createdAt;
  let atLast = new Set(start?.ids ?? []);
  // Where the next read starts in the listing after `createdAt - 1`. That listing starts with the
  // users at `createdAt`; its first read starts at 0, so that they are all read again (usually
  // one user) and a user who signed up in that same millisecond is not missed.
  let position = 0;
  for (;;) {
    const after = createdAt === undefined || createdAt <= 0 ? undefined : createdAt - 1;
    const { page, fresh, next } = await readOn((offset) => read(after, offset), atLast, position);
    const previous = createdAt;
    for (const user of fresh) {
      if (createdAt === undefined || user.created_at > createdAt) {
        createdAt = user.created_at;
        atLast = new Set();
      }
      atLast.add(user.id);
    }
    position = createdAt === previous ? next : 0;
    if (fresh.length > 0 && createdAt !== undefined) {
      yield { items: fresh, cursor: { createdAt, ids: [...atLast] } };
    }
    if (page.length < limit) return;
  }
}
