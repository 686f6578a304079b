import type { Kysely } from "kysely";
import type { SyncStore } from "../core/store-contract.js";
import type { ClerkSyncDatabase } from "../store/schema/database.js";
import type { ClerkSyncStore } from "../store/store.js";

/** A store a receiver opens on first use. */
export interface OpenOnFirstUse {
  /** Opens (and migrates) the store, or answers the one already open. */
  open(): Promise<ClerkSyncStore>;
  /** The store once open, else undefined. */
  readonly opened: ClerkSyncStore | undefined;
}

/**
 * The engine's view of a store that opens on the first batch. This is the one place where a
 * receiver adapts its store to the engine→store contract (`SyncStore` in
 * core/store-contract.ts): when that contract changes, only this function follows.
 *
 * @example
 * const engine = new SyncEngine(lazyStore(receiverStore), { deleteMode: "hard" });
 */
export function lazyStore(store: OpenOnFirstUse): SyncStore<Kysely<ClerkSyncDatabase>> {
  /** The store, opened on first use (one promise less once it is open). */
  const ready = (): ClerkSyncStore | Promise<ClerkSyncStore> => store.opened ?? store.open();
  return {
    applyPlans: async (plans) => (await ready()).applyPlans(plans),
    applyJobs: async (jobs) => (await ready()).applyJobs(jobs),
    // One batch at a time until the store is open, then as many as it takes.
    get maxConcurrentBatches() {
      return store.opened?.maxConcurrentBatches ?? 1;
    },
  };
}
