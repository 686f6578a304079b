import { type ClerkSyncStore, DEFAULT_DATABASE_URL, openStore } from "clerk-sync/store";

let opening: Promise<ClerkSyncStore> | undefined;

/**
 * The database the webhook route writes to (same `DATABASE_URL`), opened once per process and
 * migrated, so the page works before the first delivery too.
 */
export function getStore(): Promise<ClerkSyncStore> {
  opening ??= (async () => {
    const store = await openStore(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL);
    await store.migrate();
    return store;
  })();
  opening.catch(() => {
    opening = undefined; // try again on the next request
  });
  return opening;
}
