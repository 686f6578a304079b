import type { UserJSON } from "../../src/core/events.js";
import { mapEvent } from "../../src/core/mappers.js";
import type { DeliveryPlan } from "../../src/core/store-contract.js";
import { parseEvent } from "../../src/core/validate.js";
import { loadExample } from "../../src/testing/fixtures.js";

/** Builds a user payload from the spec's example, with the given fields. */
export function userData(id: string, updatedAt: number, overrides: Partial<UserJSON> = {}): UserJSON {
  const base = loadExample("user.updated").data as unknown as UserJSON;
  return { ...base, id, created_at: 1_700_000_000_000, updated_at: updatedAt, ...overrides };
}

/** A user event envelope. */
export function userEvent(
  type: "user.created" | "user.updated",
  data: UserJSON,
  timestamp = data.updated_at,
): Record<string, unknown> {
  return { object: "event", type, timestamp, instance_id: "ins_test", data };
}

/** A user.deleted stub envelope; `timestamp` in seconds or ms as Clerk may send either. */
export function userDeleted(id: string, timestamp: number): Record<string, unknown> {
  return { object: "event", type: "user.deleted", timestamp, data: { object: "user", id, deleted: true } };
}

/** A user.created delivery with no hooks, as the engine plans it. */
export function userPlan(userId: string): DeliveryPlan {
  const event = userEvent("user.created", userData(userId, 1_700_000_000_000));
  const payload = JSON.stringify(event);
  const parsed = parseEvent(payload);
  if (!parsed.known) throw new Error("user.created is a known type");
  return {
    record: {
      svixId: `msg_${userId}`,
      type: "user.created",
      objectType: "user",
      objectId: userId,
      eventTimestamp: 1_700_000_000_000,
      receivedAt: Date.now(),
      payload,
    },
    mutations: mapEvent(parsed.event),
    hard: false,
  };
}
