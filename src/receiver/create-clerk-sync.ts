import type { Kysely } from "kysely";
import { type ClerkApiClient, type ClerkApiClientOptions, createClerkApiClient } from "../clerk-api/client.js";
import { type Delivery, type DeliveryResult, SyncEngine, type SyncEngineOptions } from "../core/engine.js";
import { ClerkSyncError, describeError, isClerkSyncError } from "../core/errors.js";
import type { ClerkEventType } from "../core/events.js";
import {
  createWebhookHandler,
  DEFAULT_MAX_BODY_BYTES,
  errorReply,
  type WebhookHandler,
  type WebhookInput,
  type WebhookReply,
} from "../core/handler.js";
import type { AnyHook, ForeignClerkEvent, ForeignHook, Hook } from "../core/hooks.js";
import { consoleLogger, filterLogger, type Logger } from "../core/logger.js";
import { observe } from "../core/observer.js";
import type { RefusedRequest } from "../core/rejections.js";
import { createVerifier, type Verifier } from "../core/verify.js";
import { ensureOrganization, ensureUser, type ReadThroughSource } from "../read-through/ensure.js";
import { type ReplayOptions, type ReplayResult, type ReplaySelection, replayDeliveries } from "../replay/replay.js";
import type { ClerkOrganization, ClerkUser } from "../store/queries.js";
import { RejectionLog } from "../store/rejection-log.js";
import { type RetentionSettings, startRetention } from "../store/retention.js";
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
  /**
   * Default: warnings and errors (refused and failed deliveries, a missing secret) printed on the
   * console, one line each ({@link consoleLogger}); `logLevel` changes that level (`LOG_LEVEL` is
   * read only with a logger of your own). Pass your logger (pino, …), or `silentLogger` for none.
   * `LOG_LEVEL` or `logLevel` drops your logger's messages below that level.
   */
  logger?: Logger;
  /** Environment to read defaults from. Default `process.env`. */
  env?: Env;
  /**
   * Clerk's Backend API, for `ensureUser`, `ensureOrganization` and `fetchMissingParents`: a
   * client (`createClerkApiClient(…)`) or its options. Default: a client made on first use from
   * `CLERK_SECRET_KEY` and `CLERK_API_URL`; a missing key is `invalid_config` then, not before.
   */
  clerkApi?: ClerkApiClient | ClerkApiClientOptions;
}

/** A ready-to-mount webhook receiver: adapters translate their framework's request to it. */
export interface ClerkSync {
  /** Web-standard entry (`Request → Response`). */
  fetch(request: Request): Promise<Response>;
  /** Entry for adapters that read the raw body themselves. */
  handle(input: WebhookInput): Promise<WebhookReply>;
  /** The reply for a request such an adapter refused before `handle` (see {@link WebhookHandler.refuse}). */
  refuse(error: unknown, request?: RefusedRequest): WebhookReply;
  /** Largest accepted body in bytes. */
  readonly maxBodyBytes: number;
  /** Registers a hook (see {@link SyncEngine.on}). */
  on<T extends ClerkEventType>(types: T | readonly T[], hook: Hook<T, Kysely<ClerkSyncDatabase>>): ClerkSync;
  /** Registers a hook typed with Clerk's own event types (`(evt: WebhookEvent) => …`; docs/clerk-types.md). */
  on<E extends ForeignClerkEvent, T extends ClerkEventType & E["type"]>(
    types: T | readonly T[],
    hook: ForeignHook<E, Kysely<ClerkSyncDatabase>>,
  ): ClerkSync;
  /** Registers a hook for every delivery. */
  onAny(hook: AnyHook<Kysely<ClerkSyncDatabase>>): ClerkSync;
  /**
   * Reads the configuration, checks the signing secrets and opens (and migrates) the store now
   * rather than on the first delivery; rejects with the coded error (`invalid_config`, …).
   */
  ready(): Promise<void>;
  /** The store, opened (and migrated) on first use. */
  store(): Promise<ClerkSyncStore>;
  /**
   * The user's mirrored row; when it is missing (the sign-up race: the app is faster than
   * `user.created`), fetched from Clerk's Backend API, written through the sync rules and
   * returned. null when the user is deleted (a tombstone stays deleted) or Clerk has no such
   * user. Safe to race the webhook and itself (see docs/sign-up-race.md).
   */
  /**
   * Replays stored deliveries through this receiver's engine, hooks included (docs/replay.md):
   * failed ones are processed again, processed ones are a no-op unless `force`. Each replay is
   * recorded as an attempt.
   *
   * @example
   * const { counts } = await sync.replay({ status: "failed" });
   */
  replay(selection: ReplaySelection, options?: ReplayOptions): Promise<ReplayResult>;
  ensureUser(userId: string): Promise<ClerkUser | null>;
  /** The same for an organization, by id or slug. */
  ensureOrganization(idOrSlug: string): Promise<ClerkOrganization | null>;
  /**
   * Waits for deliveries in flight and for the parents they fetch (`fetchMissingParents`),
   * then closes the store.
   */
  close(): Promise<void>;
}

/** What a receiver builds from its settings on first use. */
interface Built {
  readonly settings: ReceiverSettings;
  readonly log: Logger;
  readonly engine: SyncEngine<Kysely<ClerkSyncDatabase>>;
  readonly handler: WebhookHandler;
  /** The rejections log (unless `logRejections` is false) and the retention timer. */
  readonly rejections: RejectionLog | undefined;
  readonly retention: ReturnType<typeof startRetention>;
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
  let client: ClerkApiClient | undefined;
  /** Parents being fetched after their child's delivery committed (`fetchMissingParents`). */
  const background = new Set<Promise<void>>();
  /** Hooks registered before the engine exists, in order. */
  const pending: ((engine: SyncEngine<Kysely<ClerkSyncDatabase>>) => void)[] = [];

  const build = (): Built => {
    if (built) return built;
    const settings = resolveReceiverSettings(options, options.env ?? process.env, {
      logging: options.logger !== undefined,
    });
    const log = !options.logger
      ? consoleLogger(settings.logLevel ?? "warn")
      : settings.logLevel
        ? filterLogger(options.logger, settings.logLevel)
        : options.logger;
    const unknown = settings.events ? unknownEventPatterns(settings.events) : [];
    if (unknown.length > 0) log.warn("no event type clerk-sync knows matches these events patterns", { unknown });
    const engine = new SyncEngine(lazyStore(store), {
      ...options,
      deleteMode: settings.deleteMode,
      events: settings.events,
      attemptsPerDelivery: settings.retention.attemptsPerDelivery,
    });
    const bounds = logBounds(settings);
    // Off the request path: refusals are queued and written in batches; pruning runs on a timer.
    const rejections = settings.retention.logRejections
      ? new RejectionLog(() => store.open(), {
          retention: bounds.rejections,
          onDrop: (count) => observe(options.observer, "rejectionsDropped", { count }),
          onError: (error) => log.warn("writing the rejections log failed", { error: describeError(error) }),
        })
      : undefined;
    const retention = startRetention(() => store.open(), bounds, {
      onError: (error) => log.warn("pruning the delivery log failed", { error: describeError(error) }),
    });
    for (const register of pending.splice(0)) register(engine);
    const processor = settings.fetchMissingParents
      ? {
          async process(delivery: Delivery): Promise<DeliveryResult> {
            const result = await engine.process(delivery);
            fetchParentsOf(delivery, result, log);
            return result;
          },
        }
      : engine;
    const handler = createWebhookHandler({
      verify: (payload, headers) => verifier()(payload, headers),
      engine: processor,
      maxBodyBytes: settings.maxBodyBytes,
      logger: log,
      ...(rejections ? { rejections } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    });
    built = { settings, log, engine, handler, rejections, retention };
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

  /** The Backend API client: the one given, else made once from the options or the variables. */
  const apiClient = (): ClerkApiClient => {
    if (client) return client;
    const given = options.clerkApi;
    if (given && typeof (given as ClerkApiClient).getUser === "function") {
      client = given as ClerkApiClient;
    } else {
      // Not cached when it throws (invalid_config): every call names the missing variable.
      client = createClerkApiClient({
        env: build().settings.clerkApi?.env ?? {},
        ...(given as ClerkApiClientOptions | undefined),
      });
    }
    return client;
  };

  const readThrough = async (): Promise<ReadThroughSource> => {
    const { deleteMode } = build().settings;
    const api = apiClient();
    return { store: await store.open(), client: api, deleteMode };
  };

  /**
   * After a membership's delivery committed: fetches its user and organization when they have no
   * row. Runs apart from the delivery (no row lock held, no effect on its reply); failures are
   * logged. `close()` waits for it.
   */
  const fetchParentsOf = (delivery: Delivery, result: DeliveryResult, log: Logger): void => {
    const { event } = delivery.parsed;
    if (!event.type.startsWith("organizationMembership.") || event.type === "organizationMembership.deleted") return;
    if (result.outcome !== "applied") return;
    const data = event.data as { public_user_data?: { user_id?: unknown }; organization?: { id?: unknown } };
    const userId = data.public_user_data?.user_id;
    const organizationId = data.organization?.id;
    const work = (async () => {
      const source = await readThrough();
      await Promise.all([
        typeof userId === "string" ? ensureUser(source, userId) : null,
        typeof organizationId === "string" ? ensureOrganization(source, organizationId) : null,
      ]);
    })().catch((error: unknown) => {
      log.warn("fetching a membership's missing parent from the Backend API failed", {
        svixId: delivery.svixId,
        type: event.type,
        code: isClerkSyncError(error) ? error.code : "unexpected",
        error: error instanceof Error ? error.message : String(error),
      });
    });
    background.add(work);
    void work.finally(() => background.delete(work));
  };

  const store = new ReceiverStore({
    ...(options.store ? { store: options.store } : {}),
    settings: () => {
      const { settings, log } = build();
      return { databaseUrl: settings.databaseUrl, migrate: settings.migrate, logger: log };
    },
  });

  /**
   * The reply to a delivery when the configuration cannot be read (a malformed variable): the
   * coded error, logged (no logger was built from the settings, so the one given or the console).
   */
  const configurationFailed = (error: unknown): WebhookReply => {
    const reply = errorReply(error);
    (options.logger ?? consoleLogger()).error("receiver configuration failed", {
      ...(reply.body.error as { code: string; message: string }),
    });
    return reply;
  };

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
        const { status, body } = configurationFailed(error);
        return Response.json(body, { status });
      }
      return handler.fetch(request);
    },
    async handle(input) {
      let handler: WebhookHandler;
      try {
        handler = build().handler;
      } catch (error) {
        return configurationFailed(error);
      }
      return handler.handle(input);
    },
    refuse(error, request) {
      try {
        return build().handler.refuse(error, request);
      } catch {
        return errorReply(error);
      }
    },
    // One implementation for both signatures: the engine stores every hook alike.
    on: (types: ClerkEventType | readonly ClerkEventType[], hook: Hook<ClerkEventType, Kysely<ClerkSyncDatabase>>) =>
      register((engine) => engine.on(types, hook)),
    onAny: (hook) => register((engine) => engine.onAny(hook)),
    async ready() {
      verifier();
      // A receiver that will need the Backend API fails now, naming the missing variable.
      if (build().settings.fetchMissingParents) apiClient();
      await store.open();
    },
    store: () => store.open(),
    replay: async (selection, replayOptions) =>
      replayDeliveries({ store: await store.open(), engine: build().engine }, selection, replayOptions),
    ensureUser: async (userId) => ensureUser(await readThrough(), userId),
    ensureOrganization: async (idOrSlug) => ensureOrganization(await readThrough(), idOrSlug),
    async close() {
      await built?.engine.drained();
      while (background.size > 0) await Promise.all(background);
      await built?.retention.stop();
      await built?.rejections?.close();
      await store.close();
    },
  };
  return sync;
}

/** The delivery log's bounds as retention takes them (days to ms). */
function logBounds(settings: ReceiverSettings): RetentionSettings {
  const day = 86_400_000;
  const r = settings.retention;
  return {
    rejections: { maxRows: r.rejectionsMaxRows, maxAgeMs: r.rejectionsMaxAgeDays * day },
    payloads: {
      maxRows: r.payloadsMaxRows,
      maxAgeMs: r.payloadsMaxAgeDays === undefined ? undefined : r.payloadsMaxAgeDays * day,
    },
  };
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
