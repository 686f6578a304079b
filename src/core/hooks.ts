import { ClerkSyncError, isClerkSyncError } from "./errors.js";
import type { ClerkEventType, ClerkWebhookEvent, UnknownClerkEvent } from "./events.js";
import type { DeliveryStatus } from "./schema.js";

/** What a hook gets besides the event. */
export interface HookContext<Db = unknown> {
  /**
   * The database handle of the sync transaction (a Kysely instance for the built-in stores).
   * Writes made through it commit together with the delivery, or roll back with it. It is
   * already inside a transaction: do not open another.
   */
  readonly db: Db;
  /** The delivery id (`svix-id`). A hook runs once per delivery id, never for duplicates. */
  readonly svixId: string;
  /** What the sync did with the event: `applied`, `stale` (older than stored) or `ignored`. */
  readonly outcome: Exclude<DeliveryStatus, "failed">;
}

/** A hook for one event type: its event is narrowed by the type's name. */
export type Hook<T extends ClerkEventType, Db = unknown> = (
  event: ClerkWebhookEvent<T>,
  ctx: HookContext<Db>,
) => void | Promise<void>;

/**
 * The envelope of a Clerk event as another library types it: Clerk's own `WebhookEvent` (from
 * `@clerk/backend`, `@clerk/nextjs/server`, …) or one of its members (`UserWebhookEvent`).
 */
export interface ForeignClerkEvent {
  object: "event";
  type: string;
  data: unknown;
  timestamp: number;
}

/**
 * A hook written against another library's event type, Clerk's `WebhookEvent` say, as Clerk's
 * guide writes them: `(evt: WebhookEvent) => { if (evt.type === "user.created") … }`. Its event
 * is the payload as Clerk sent it, the same object `verifyWebhook` returns.
 */
export type ForeignHook<E extends ForeignClerkEvent, Db = unknown> = (
  event: E,
  ctx: HookContext<Db>,
) => void | Promise<void>;

/** A hook for every delivery, unknown event types included. */
export type AnyHook<Db = unknown> = (
  event: ClerkWebhookEvent | UnknownClerkEvent,
  ctx: HookContext<Db>,
) => void | Promise<void>;

/**
 * Hooks by event type. A throwing hook fails the delivery: its transaction rolls back and the
 * reply is a 5xx (`hook_failed`), so Svix retries it.
 */
export class HookRegistry<Db = unknown> {
  readonly #byType = new Map<string, AnyHook<Db>[]>();
  readonly #any: AnyHook<Db>[] = [];

  on<T extends ClerkEventType>(types: T | readonly T[], hook: Hook<T, Db> | ForeignHook<ForeignClerkEvent, Db>): void {
    for (const type of typeof types === "string" ? [types] : types) {
      const list = this.#byType.get(type) ?? [];
      list.push(hook as unknown as AnyHook<Db>);
      this.#byType.set(type, list);
    }
  }

  onAny(hook: AnyHook<Db>): void {
    this.#any.push(hook);
  }

  /** Whether any hook would run for this type (saves work on the hot path). */
  has(type: string): boolean {
    return this.#any.length > 0 || this.#byType.has(type);
  }

  async run(event: ClerkWebhookEvent | UnknownClerkEvent, ctx: HookContext<Db>): Promise<void> {
    for (const hook of [...(this.#byType.get(event.type) ?? []), ...this.#any]) {
      try {
        await hook(event, ctx);
      } catch (cause) {
        if (isClerkSyncError(cause)) throw cause;
        throw new ClerkSyncError("hook_failed", `A hook for ${event.type} threw; the delivery was rolled back`, {
          cause,
        });
      }
    }
  }
}

/**
 * Compiles event-type patterns (`user.created`, `organization.*`, `*`) into a predicate.
 *
 * @example
 * const mirrors = typeFilter(["user.*", "organizationMembership.*"]);
 * mirrors("user.updated"); // true
 */
export function typeFilter(patterns: readonly string[] | undefined): (type: string) => boolean {
  if (patterns === undefined) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const p of patterns) {
    if (p === "*") return () => true;
    if (p.endsWith(".*")) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix));
}
