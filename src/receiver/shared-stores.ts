import { openStore } from "../store/open.js";
import type { ClerkSyncStore } from "../store/store.js";

/**
 * Stores clerk-sync opened from a URL, shared per process and closed with their last receiver.
 * A dev server that evaluates the route module again on every edit (`next dev`) then reuses
 * the store instead of leaving one open (connections, SQLite writer and checkpoint threads) per
 * reload. On `globalThis`, as module state does not survive that re-evaluation.
 */
const SHARED_STORES = Symbol.for("clerk-sync.shared-stores");
type SharedStores = Map<string, { store: Promise<ClerkSyncStore>; receivers: number }>;

function sharedStores(): SharedStores {
  const holder = globalThis as { [SHARED_STORES]?: SharedStores };
  holder[SHARED_STORES] ??= new Map();
  return holder[SHARED_STORES];
}

/**
 * The store of `url`, opened by the first receiver that asks; each call must be paired with a
 * {@link releaseSharedStore}.
 */
export function acquireSharedStore(url: string): Promise<ClerkSyncStore> {
  const stores = sharedStores();
  let entry = stores.get(url);
  if (!entry) {
    entry = { store: openStore(url), receivers: 0 };
    stores.set(url, entry);
    const failed = entry;
    failed.store.catch(() => {
      if (stores.get(url) === failed) stores.delete(url);
    });
  }
  entry.receivers++;
  return entry.store;
}

/** Gives back a store of {@link acquireSharedStore}; the last receiver's release closes it. */
export async function releaseSharedStore(url: string): Promise<void> {
  const stores = sharedStores();
  const entry = stores.get(url);
  if (!entry || --entry.receivers > 0) return;
  stores.delete(url);
  await (await entry.store.catch(() => undefined))?.close();
}
