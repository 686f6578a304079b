import type { Logger } from "../core/logger.js";
import type { ClerkSyncStore } from "../store/store.js";
import type { OpenOnFirstUse } from "./lazy-store.js";
import { acquireSharedStore, releaseSharedStore } from "./shared-stores.js";

/** Where a receiver's store comes from. */
export interface ReceiverStoreSource {
  /** A store opened by the caller; closed with the receiver. */
  store?: ClerkSyncStore | Promise<ClerkSyncStore>;
  /** Read when the store is first needed. */
  settings(): {
    /** The URL of a store shared per process, used when `store` is not given. */
    databaseUrl: string;
    /** Whether to migrate before first use. */
    migrate: boolean;
    logger: Logger;
  };
}

/**
 * One receiver's store: opened and migrated on first use, opened again after a failure, and
 * closed (or given back to the process's shared stores) with the receiver.
 */
export class ReceiverStore implements OpenOnFirstUse {
  readonly #source: ReceiverStoreSource;
  #opening: Promise<ClerkSyncStore> | undefined;
  #opened: ClerkSyncStore | undefined;
  /** The URL of the shared store this receiver holds, if it holds one. */
  #sharedUrl: string | undefined;

  constructor(source: ReceiverStoreSource) {
    this.#source = source;
  }

  get opened(): ClerkSyncStore | undefined {
    return this.#opened;
  }

  open(): Promise<ClerkSyncStore> {
    if (this.#opening) return this.#opening;
    const opening = (async () => {
      const settings = this.#source.settings();
      let ready: ClerkSyncStore;
      if (this.#source.store) {
        ready = await this.#source.store;
      } else {
        this.#sharedUrl = settings.databaseUrl;
        ready = await acquireSharedStore(settings.databaseUrl);
      }
      if (settings.migrate) {
        const { applied } = await ready.migrate();
        if (applied.length > 0) settings.logger.info("migrated", { applied });
      }
      this.#opened = ready;
      return ready;
    })();
    this.#opening = opening;
    opening.catch(() => {
      // Try again on the next delivery.
      if (this.#opening === opening) this.#opening = undefined;
      const url = this.#sharedUrl;
      this.#sharedUrl = undefined;
      if (url !== undefined) void releaseSharedStore(url);
    });
    return opening;
  }

  /** Closes the store (a shared one only when this was its last receiver). */
  async close(): Promise<void> {
    const closing = this.#opening;
    this.#opening = undefined;
    this.#opened = undefined;
    // A store that failed to open was given back already.
    const ready = await closing?.catch(() => undefined);
    if (!ready) return;
    const url = this.#sharedUrl;
    this.#sharedUrl = undefined;
    if (url === undefined) await ready.close();
    else await releaseSharedStore(url);
  }
}
