import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ClerkSyncError } from "../core/errors.js";
import { CLERK_EVENT_TYPES, type ClerkEventType } from "../core/events.js";
import { ksuid } from "./ksuid.js";

function findFixtures(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, "fixtures", "clerk-examples");
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error("clerk-sync's fixtures/clerk-examples folder is missing from the package");
}

/** Folder of the example payload per event type shipped with clerk-sync. */
export const FIXTURES_DIR = findFixtures();

/**
 * The example payload Clerk publishes for an event type (a fresh copy each call).
 *
 * @example
 * const event = loadExample("user.created");
 */
export function loadExample(type: ClerkEventType): Record<string, unknown> & { data: Record<string, unknown> } {
  if (!(CLERK_EVENT_TYPES as readonly string[]).includes(type)) {
    throw new ClerkSyncError("invalid_config", `Unknown event type "${type}"`);
  }
  return JSON.parse(readFileSync(join(FIXTURES_DIR, `${type}.json`), "utf8"));
}

/** A fresh Clerk-style id with the given prefix (`user`, `org`, `idn`, …): `prefix_` + a KSUID. */
export function newClerkId(prefix: string): string {
  return `${prefix}_${ksuid()}`;
}

const ID_PREFIX = /^([a-z]+)_/;

/**
 * An example event made fresh: a new object id (same prefix) unless `id` is given, the envelope
 * timestamp and `updated_at` set to now, and for users an email address that matches
 * `primary_email_address_id`.
 *
 * @example
 * const event = freshExample("user.updated", { id: "user_123" });
 */
export function freshExample(
  type: ClerkEventType,
  options: { id?: string; now?: number } = {},
): Record<string, unknown> & { data: Record<string, unknown> } {
  const event = loadExample(type);
  const now = options.now ?? Date.now();
  const data = event.data;
  const oldId = String(data.id ?? "");
  data.id = options.id ?? newClerkId(ID_PREFIX.exec(oldId)?.[1] ?? "obj");
  event.timestamp = now;
  if ("updated_at" in data) data.updated_at = now;
  if (type.endsWith(".created") && "created_at" in data) data.created_at = now;
  if (data.object === "user" && Array.isArray(data.email_addresses) && data.email_addresses.length === 0) {
    const emailId = newClerkId("idn");
    data.primary_email_address_id = emailId;
    data.email_addresses.push({
      object: "email_address",
      id: emailId,
      email_address: `${String(data.first_name ?? "user").toLowerCase()}.${String(data.id).slice(-6).toLowerCase()}@example.com`,
      verification: { status: "verified", strategy: "email_code" },
      linked_to: [],
    });
  }
  return event;
}

/**
 * Sets a dotted path (`data.first_name`) in an object; the value is parsed as JSON when it is
 * valid JSON (`42`, `true`, `{"a":1}`), else kept as a string.
 */
export function setPath(target: Record<string, unknown>, path: string, raw: string): void {
  const keys = path.split(".");
  if (keys.some((k) => k.length === 0)) throw new ClerkSyncError("invalid_config", `Bad path "${path}"`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  let node: Record<string, unknown> = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
}
