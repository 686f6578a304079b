import type { Kysely } from "kysely";
import { SyncEngine, type SyncEngineOptions } from "../core/engine.js";
import { ClerkSyncError } from "../core/errors.js";
import type { ClerkEventType } from "../core/events.js";
import {
  createWebhookHandler,
  DEFAULT_MAX_BODY_BYTES,
  errorReply,
  type WebhookHandler,
  type WebhookInput,
  type WebhookReply,
} from "../core/handler.js";
import type { AnyHook, Hook } from "../core/hooks.js";
import { filterLogger, type Logger, silentLogger } from "../core/logger.js";
import { createVerifier, type Verifier } from "../core/verify.js";
import type { ClerkSyncDatabase } from "../store/schema/database.js";
import type { ClerkSyncStore } from "../store/store.js";
import { lazyStore } from "./lazy-store.js";
import {
  type Env,
  type ReceiverSettingOptions,
  type ReceiverSettings,
  resolveReceiverSettings,
  unknownEventPatterns,
} from "./receiver-settings.js";
import { ReceiverStore } from "./receiver-store.js";

/**
 * Everything needed to receive webhooks, inside an app or as the standalone service; every
 * field has a default. Options not given are read from the environment (`CLERK_SYNC_*`,
 * `DATABASE_URL`, the signing secret, `LOG_LEVEL`) on the first delivery, as the service reads
 * them: see {@link ReceiverSettingOptions}.
 */
export interface ClerkSyncOptions extends SyncEngineOptions, ReceiverSettingOptions {
  /** A store you opened yourself; closed by `close()`. */
  store?: ClerkSyncStore | Promise<ClerkSyncStore>;
  /** Default: none (silent). `LOG_LEVEL` or `logLevel` drops the messages below that level. */
  logger?: Logger;
  /** Environment to read defaults from. Default `process.env`. */
  env?: Env;
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
  /**
   * Reads the configuration, checks the signing secrets and opens (and migrates) the store now
   * rather than on the first delivery; rejects with the coded error (`invalid_config`, …).
   */
  ready(): Promise<void>;
  /** The store, opened (and migrated) on first use. */
  store(): Promise<ClerkSyncStore>;
  /** Waits for deliveries in flight, then closes the store. */
  close(): Promise<void>;
}

/** What a receiver builds from its settings on first use. */
interface Built {
  readonly settings: ReceiverSettings;
  readonly log: Logger;
  readonly engine: SyncEngine<Kysely<ClerkSyncDatabase>>;
  readonly handler: WebhookHandler;
}

/**
 * Creates a webhook receiver: the one composition root of verifier, engine, store, hooks and
 * options, used by every adapter and by the standalone service. The configuration is read, the
 * store opened and migrated, and the secrets checked on the first delivery (or `ready()`), so
 * importing the module (e.g. during `next build`) touches neither the database nor the
 * environment.
 *
 * @example
 * const sync = createClerkSync().on("user.created", async (event, { db }) => { … });
 * export const POST = (request: Request) => sync.fetch(request);
 */
export function createClerkSync(options: ClerkSyncOptions = {}): ClerkSync {
  let built: Built | undefined;
  let verify: Verifier | undefined;
  /** Hooks registered before the engine exists, in order. */
  const pending: ((engine: SyncEngine<Kysely<ClerkSyncDatabase>>) => void)[] = [];

  const build = (): Built => {
    if (built) return built;
    const settings = resolveReceiverSettings(options, options.env ?? process.env, {
      logging: options.logger !== undefined,
    });
    const log = !options.logger
      ? silentLogger
      : settings.logLevel
        ? filterLogger(options.logger, settings.logLevel)
        : options.logger;
    const unknown = settings.events ? unknownEventPatterns(settings.events) : [];
    if (unknown.length > 0) log.warn("no event type clerk-sync knows matches these events patterns", { unknown });
    const engine = new SyncEngine(lazyStore(store), {
      ...options,
      deleteMode: settings.deleteMode,
      events: settings.events,
    });
    for (const register of pending.splice(0)) register(engine);
    const handler = createWebhookHandler({
      verify: (payload, headers) => verifier()(payload, headers),
      engine,
      maxBodyBytes: settings.maxBodyBytes,
      logger: log,
    });
    built = { settings, log, engine, handler };
    return built;
  };

  const verifier = (): Verifier => {
    if (!verify) {
      const { secrets, toleranceSeconds } = build().settings;
      if (secrets.length === 0) {
        throw new ClerkSyncError(
          "invalid_config",
          "No signing secret: set CLERK_WEBHOOK_SIGNING_SECRET (Clerk Dashboard > Webhooks > your endpoint)",
        );
      }
      verify = createVerifier({ secrets, toleranceSeconds });
    }
    return verify;
  };

  const store = new ReceiverStore({
    ...(options.store ? { store: options.store } : {}),
    settings: () => {
      const { settings, log } = build();
      return { databaseUrl: settings.databaseUrl, migrate: settings.migrate, logger: log };
    },
  });

  const register = (add: (engine: SyncEngine<Kysely<ClerkSyncDatabase>>) => void): ClerkSync => {
    if (built) add(built.engine);
    else pending.push(add);
    return sync;
  };

  const sync: ClerkSync = {
    get maxBodyBytes() {
      try {
        return build().settings.maxBodyBytes;
      } catch {
        return DEFAULT_MAX_BODY_BYTES; // the configuration error is the reply of `handle`/`fetch`
      }
    },
    async fetch(request) {
      let handler: WebhookHandler;
      try {
        handler = build().handler;
      } catch (error) {
        const { status, body } = errorReply(error);
        return Response.json(body, { status });
      }
      return handler.fetch(request);
    },
    async handle(input) {
      try {
        return await build().handler.handle(input);
      } catch (error) {
        return errorReply(error);
      }
    },
    on: (types, hook) => register((engine) => engine.on(types, hook)),
    onAny: (hook) => register((engine) => engine.onAny(hook)),
    async ready() {
      verifier();
      await store.open();
    },
    store: () => store.open(),
    async close() {
      await built?.engine.drained();
      await store.close();
    },
  };
  return sync;
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
