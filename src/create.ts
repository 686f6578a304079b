import type { Kysely } from "kysely";
import { SyncEngine, type SyncEngineOptions } from "./core/engine.js";
import { ClerkSyncError } from "./core/errors.js";
import type { ClerkEventType } from "./core/events.js";
import {
  createWebhookHandler,
  errorReply,
  type WebhookHandler,
  type WebhookInput,
  type WebhookReply,
} from "./core/handler.js";
import type { AnyHook, Hook } from "./core/hooks.js";
import type { Logger } from "./core/logger.js";
import type { SyncStore } from "./core/store-contract.js";
import { createVerifier, parseSecretList, type Verifier } from "./core/verify.js";
import { DEFAULT_DATABASE_URL, openStore } from "./store/open.js";
import type { ClerkSyncDatabase } from "./store/schema/database.js";
import type { ClerkSyncStore } from "./store/store.js";

/** Everything needed to receive webhooks inside an app; every field has a default. */
export interface ClerkSyncOptions extends SyncEngineOptions {
  /** Signing secret(s). Default: `CLERK_WEBHOOK_SIGNING_SECRET`, else `SIGNING_SECRET`. */
  secrets?: string | readonly string[];
  /** Default: `DATABASE_URL`, else `file:./clerk-sync.db`. Ignored when `store` is given. */
  databaseUrl?: string;
  /** A store you opened yourself. */
  store?: ClerkSyncStore | Promise<ClerkSyncStore>;
  /** Migrate on first use. Default true. */
  migrate?: boolean;
  /** Largest accepted body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Allowed clock skew in seconds. Default 300. */
  toleranceSeconds?: number;
  logger?: Logger;
  /** Environment to read defaults from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A ready-to-mount webhook receiver: adapters translate their framework's request to it. */
export interface ClerkSync {
  /** Web-standard entry (`Request → Response`). */
  fetch(request: Request): Promise<Response>;
  /** Entry for adapters that read the raw body themselves. */
  handle(input: WebhookInput): Promise<WebhookReply>;
  /** Largest accepted body in bytes. */
  readonly maxBodyBytes: number;
  /** Registers a hook (see {@link SyncEngine.on}). */
  on<T extends ClerkEventType>(types: T | readonly T[], hook: Hook<T, Kysely<ClerkSyncDatabase>>): ClerkSync;
  /** Registers a hook for every delivery. */
  onAny(hook: AnyHook<Kysely<ClerkSyncDatabase>>): ClerkSync;
  /** The store, opened (and migrated) on first use. */
  store(): Promise<ClerkSyncStore>;
  /** Waits for deliveries in flight, then closes the store. */
  close(): Promise<void>;
}

/**
 * Creates a webhook receiver for use inside an app. The store opens and migrates on the first
 * delivery, and secrets are read then too, so importing the module (e.g. during `next build`)
 * touches neither the database nor the environment.
 *
 * @example
 * const sync = createClerkSync().on("user.created", async (event, { db }) => { … });
 * export const POST = (request: Request) => sync.fetch(request);
 */
export function createClerkSync(options: ClerkSyncOptions = {}): ClerkSync {
  const env = options.env ?? process.env;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  let storePromise: Promise<ClerkSyncStore> | undefined;
  let opened: ClerkSyncStore | undefined;
  let sharedUrl: string | undefined;
  const store = (): Promise<ClerkSyncStore> => {
    storePromise ??= (async () => {
      let ready: ClerkSyncStore;
      if (options.store) {
        ready = await options.store;
      } else {
        sharedUrl = options.databaseUrl ?? env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
        ready = await acquireSharedStore(sharedUrl);
      }
      if (options.migrate !== false) await ready.migrate();
      opened = ready;
      return ready;
    })();
    storePromise.catch(() => {
      storePromise = undefined; // try again on the next delivery
      if (sharedUrl !== undefined) void releaseSharedStore(sharedUrl);
      sharedUrl = undefined;
    });
    return storePromise;
  };
  const lazyStore: SyncStore<Kysely<ClerkSyncDatabase>> = {
    applyPlans: async (plans) => (await store()).applyPlans(plans),
    applyJobs: async (jobs) => (await store()).applyJobs(jobs),
    // One batch at a time until the store is open, then as many as it takes.
    get maxConcurrentBatches() {
      return opened?.maxConcurrentBatches ?? 1;
    },
  };
  const engine = new SyncEngine(lazyStore, options);
  let verify: Verifier | undefined;
  const lazyVerify: Verifier = (payload, headers) => {
    if (!verify) {
      const secrets = options.secrets ?? parseSecretList(env.CLERK_WEBHOOK_SIGNING_SECRET ?? env.SIGNING_SECRET ?? "");
      if (secrets.length === 0) {
        throw new ClerkSyncError(
          "invalid_config",
          "No signing secret: set CLERK_WEBHOOK_SIGNING_SECRET (Clerk Dashboard > Webhooks > your endpoint)",
        );
      }
      verify = createVerifier({
        secrets,
        ...(options.toleranceSeconds !== undefined ? { toleranceSeconds: options.toleranceSeconds } : {}),
      });
    }
    return verify(payload, headers);
  };
  const handler: WebhookHandler = createWebhookHandler({
    verify: lazyVerify,
    engine,
    maxBodyBytes,
    ...(options.logger ? { logger: options.logger } : {}),
  });

  const sync: ClerkSync = {
    maxBodyBytes,
    fetch: (request) => handler.fetch(request),
    async handle(input) {
      try {
        return await handler.handle(input);
      } catch (error) {
        return errorReply(error);
      }
    },
    on(types, hook) {
      engine.on(types, hook);
      return sync;
    },
    onAny(hook) {
      engine.onAny(hook);
      return sync;
    },
    store,
    async close() {
      await engine.drained();
      const closing = storePromise;
      storePromise = undefined;
      opened = undefined;
      if (!closing) return;
      const ready = await closing;
      if (sharedUrl === undefined) await ready.close();
      else await releaseSharedStore(sharedUrl);
      sharedUrl = undefined;
    },
  };
  return sync;
}

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

function acquireSharedStore(url: string): Promise<ClerkSyncStore> {
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

async function releaseSharedStore(url: string): Promise<void> {
  const stores = sharedStores();
  const entry = stores.get(url);
  if (!entry || --entry.receivers > 0) return;
  stores.delete(url);
  await (await entry.store.catch(() => undefined))?.close();
}

/** Whether `value` is a receiver made by {@link createClerkSync} (or shaped like one). */
function isClerkSync(value: ClerkSyncOptions | ClerkSync): value is ClerkSync {
  return typeof (value as ClerkSync).fetch === "function" && typeof (value as ClerkSync).handle === "function";
}

/**
 * The receiver adapters wrap: `input` itself when it already is one (so hooks registered with
 * `.on()` come along), else a new one made from these options. Every adapter accepts either.
 *
 * @example
 * const sync = resolveClerkSync({ deleteMode: "hard" }); // same as createClerkSync({ deleteMode: "hard" })
 * resolveClerkSync(sync) === sync; // true
 */
export function resolveClerkSync(input: ClerkSyncOptions | ClerkSync = {}): ClerkSync {
  return isClerkSync(input) ? input : createClerkSync(input);
}
