import type { UserJSON } from "../../src/core/events.js";
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
