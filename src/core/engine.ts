import { GroupCommit } from "./batcher.js";
import { type ClerkEventType, normalizeTimestamp } from "./events.js";
import {
  type AnyHook,
  type ForeignClerkEvent,
  type ForeignHook,
  type Hook,
  HookRegistry,
  typeFilter,
} from "./hooks.js";
import { objectMemberText } from "./json-member.js";
import { mapEvent } from "./mappers.js";
import type { SyncObserver } from "./observer.js";
import type { AttemptSource, DeliveryOutcome } from "./schema.js";
import type { DeliveryPlan, DeliveryRecord, SyncStore } from "./store-contract.js";
import type { ParsedEvent } from "./validate.js";

/** How deletions are stored. */
export type DeleteMode = "soft" | "hard";

export interface SyncEngineOptions {
  /**
   * `soft` (default): a deleted object keeps its row, with `deleted_at` set.
   * `hard`: the row's data is removed, the tombstone (id, version, deleted_at) stays so that a
   * late update cannot bring the object back.
   */
  deleteMode?: DeleteMode;
  /** The clock, in epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Largest number of deliveries committed together. Default 256. */
  maxBatch?: number;
  /**
   * Event types to mirror into tables ("sync only what you need"): exact types, `kind.*`
   * patterns or `*`. Others are recorded as `ignored`. Default: every type.
   */
  events?: readonly string[];
  /** Told each request's outcome and each batch committed (metrics): see {@link SyncObserver}. */
  observer?: SyncObserver;
  /** Attempts kept per delivery id in `clerk_webhook_attempts` (the latest ones). Default 20. */
  attemptsPerDelivery?: number;
}

/** How a delivery reached {@link SyncEngine.process}. */
export interface ProcessOptions {
  /**
   * `webhook` (default), `replay` (a stored payload again: a delivery id already processed is a
   * duplicate), or `force` (processed again even so: its hooks run once more).
   */
  readonly source?: AttemptSource;
}

/** One verified delivery, ready to apply. */
export interface Delivery {
  readonly svixId: string;
  /** The body as received: recorded as the payload; the mirrored `data` columns take their text from it. */
  readonly rawBody: string;
  /** `parseEvent(rawBody)`. */
  readonly parsed: ParsedEvent;
}

/** What processing a delivery did. */
export interface DeliveryResult {
  readonly outcome: DeliveryOutcome;
  readonly type: string;
  readonly objectId: string | null;
}

/**
 * Applies deliveries exactly once and in version order: the delivery id is claimed in the same
 * transaction as the effects, and every write passes the version guard.
 *
 * @example
 * const engine = new SyncEngine(store).on("user.created", async (event, { db }) => {
 *   await db.insertInto("profiles").values({ user_id: event.data.id }).execute();
 * });
 * const { outcome } = await engine.process({ svixId, rawBody, parsed: parseEvent(rawBody) });
 */
export class SyncEngine<Db = unknown> {
  readonly #commit: GroupCommit<Db>;
  readonly #hard: boolean;
  readonly #now: () => number;
  readonly #mirrors: (type: string) => boolean;
  readonly #hooks = new HookRegistry<Db>();
  readonly #keepAttempts: number | undefined;

  constructor(store: SyncStore<Db>, options: SyncEngineOptions = {}) {
    this.#hard = options.deleteMode === "hard";
    this.#now = options.now ?? Date.now;
    this.#mirrors = typeFilter(options.events);
    this.#keepAttempts = options.attemptsPerDelivery;
    this.#commit = new GroupCommit(store, options.maxBatch, options.observer);
  }

  /**
   * Runs `hook` inside the sync transaction of every delivery of these types (once per
   * delivery id). The event's type is narrowed by the name. A throwing hook rolls the delivery
   * back and answers 5xx so Svix retries.
   *
   * A hook whose event is typed with Clerk's own types (`(evt: WebhookEvent) => …` from
   * `@clerk/backend` or `@clerk/nextjs/server`) registers as it is, for the types that type
   * covers (docs/clerk-types.md).
   *
   * @example
   * engine.on("user.created", async (event, { db }) => { event.data.first_name; });
   */
  on<T extends ClerkEventType>(types: T | readonly T[], hook: Hook<T, Db>): this;
  on<E extends ForeignClerkEvent, T extends ClerkEventType & E["type"]>(
    types: T | readonly T[],
    hook: ForeignHook<E, Db>,
  ): this;
  on<T extends ClerkEventType>(types: T | readonly T[], hook: Hook<T, Db> | ForeignHook<ForeignClerkEvent, Db>): this {
    this.#hooks.on(types, hook);
    return this;
  }

  /** Runs `hook` for every delivery, unknown event types included. */
  onAny(hook: AnyHook<Db>): this {
    this.#hooks.onAny(hook);
    return this;
  }

  /** Applies one delivery; resolves once its transaction is durable. */
  process(delivery: Delivery, options: ProcessOptions = {}): Promise<DeliveryResult> {
    const event = delivery.parsed.event;
    const objectId = typeof event.data.id === "string" ? event.data.id : null;
    const record: DeliveryRecord = {
      svixId: delivery.svixId,
      type: event.type,
      objectType: typeof event.data.object === "string" ? event.data.object : null,
      objectId,
      eventTimestamp: normalizeTimestamp(event.timestamp),
      receivedAt: this.#now(),
      payload: delivery.rawBody,
      ...(options.source !== undefined && options.source !== "webhook" ? { source: options.source } : {}),
      ...(this.#keepAttempts !== undefined ? { keepAttempts: this.#keepAttempts } : {}),
    };
    // The stores write `data` as the delivery carried it: no JSON.stringify of the parsed object.
    const mutations =
      delivery.parsed.known && this.#mirrors(event.type)
        ? mapEvent(delivery.parsed.event, objectMemberText(delivery.rawBody, "data"))
        : [];
    const plan: DeliveryPlan = { record, mutations, hard: this.#hard };
    const outcome = this.#hooks.has(event.type)
      ? this.#commit.submitJob({
          plan,
          beforeFinish: (db, status) => this.#hooks.run(event, { db, svixId: record.svixId, outcome: status }),
        })
      : this.#commit.submitPlan(plan);
    return outcome.then((outcome) => ({ outcome, type: record.type, objectId }));
  }

  /** Waits for every submitted delivery to be committed. */
  drained(): Promise<void> {
    return this.#commit.drained();
  }
}
