import { ClerkSyncError } from "./errors.js";
import { type ClerkEventType, type ClerkWebhookEvent, isKnownEventType, type UnknownClerkEvent } from "./events.js";

/** A parsed delivery body: a known, validated event, or an unknown type kept as-is. */
export type ParsedEvent = { known: true; event: ClerkWebhookEvent } | { known: false; event: UnknownClerkEvent };

type Check = (value: unknown) => boolean;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str: Check = (v) => typeof v === "string";
const nonEmpty: Check = (v) => typeof v === "string" && v.length > 0;
/**
 * Every number clerk-sync stores is a time or version in ms, kept in a bigint column: a safe
 * integer. A fraction would be rounded by MySQL and refused by PostgreSQL; beyond 2^53 JSON.parse
 * already changed the value. Either would be stored altered, or fail on every attempt.
 */
const num: Check = (v) => Number.isSafeInteger(v);
const bool: Check = (v) => typeof v === "boolean";
const obj: Check = isObject;
const arr: Check = Array.isArray;
const orNull =
  (check: Check): Check =>
  (v) =>
    v === null || v === undefined || check(v);
const optional = orNull;

const NAMES = new Map<Check, string>([
  [str, "a string"],
  [nonEmpty, "a non-empty string"],
  [num, "a whole number within ±2^53"],
  [bool, "a boolean"],
  [obj, "an object"],
  [arr, "an array"],
]);

type Shape = Readonly<Record<string, Check>>;

const USER: Shape = {
  id: nonEmpty,
  external_id: orNull(str),
  username: orNull(str),
  first_name: orNull(str),
  last_name: orNull(str),
  image_url: orNull(str),
  primary_email_address_id: orNull(str),
  primary_phone_number_id: orNull(str),
  email_addresses: optional(arr),
  phone_numbers: optional(arr),
  public_metadata: orNull(obj),
  private_metadata: orNull(obj),
  unsafe_metadata: orNull(obj),
  banned: optional(bool),
  locked: optional(bool),
  last_sign_in_at: orNull(num),
  last_active_at: orNull(num),
  created_at: num,
  updated_at: num,
};
const EMAIL_ADDRESS: Shape = { id: nonEmpty, email_address: str, verification: orNull(obj) };
const PHONE_NUMBER: Shape = { id: nonEmpty, phone_number: str };
const DELETED: Shape = { id: nonEmpty, deleted: bool };
const WITH_ID: Shape = { id: nonEmpty, updated_at: optional(num) };
const VERSIONED: Shape = { id: nonEmpty, created_at: optional(num), updated_at: num };
const ORGANIZATION: Shape = {
  id: nonEmpty,
  name: str,
  slug: orNull(str),
  public_metadata: orNull(obj),
  private_metadata: orNull(obj),
  created_at: num,
  updated_at: num,
};
const MEMBERSHIP: Shape = {
  id: nonEmpty,
  role: str,
  permissions: optional(arr),
  organization: obj,
  public_user_data: obj,
  created_at: num,
  updated_at: num,
};

const INVITATION: Shape = {
  ...VERSIONED,
  organization_id: nonEmpty,
  email_address: str,
  role: orNull(str),
  status: str,
  expires_at: orNull(num),
  public_metadata: orNull(obj),
  private_metadata: orNull(obj),
};
const DOMAIN: Shape = {
  ...VERSIONED,
  organization_id: nonEmpty,
  name: str,
  enrollment_mode: orNull(str),
  verification: orNull(obj),
};
const SESSION: Shape = {
  ...VERSIONED,
  user_id: nonEmpty,
  client_id: orNull(str),
  status: str,
  last_active_at: orNull(num),
  expire_at: orNull(num),
  abandon_at: orNull(num),
};
const ROLE: Shape = { ...VERSIONED, key: str, name: str, description: orNull(str), permissions: optional(arr) };
const PERMISSION: Shape = { ...VERSIONED, key: str, name: str, description: orNull(str), type: orNull(str) };
const WAITLIST: Shape = {
  ...VERSIONED,
  email_address: str,
  status: str,
  is_locked: optional(bool),
  invitation: orNull(obj),
};

function shapeFor(type: ClerkEventType): Shape {
  if (type.endsWith(".deleted") && type !== "organizationMembership.deleted") return DELETED;
  const kind = type.slice(0, type.indexOf("."));
  switch (kind) {
    case "user":
      return USER;
    case "organization":
      return ORGANIZATION;
    case "organizationMembership":
      return MEMBERSHIP;
    case "organizationInvitation":
      return INVITATION;
    case "organizationDomain":
      return DOMAIN;
    case "session":
      return SESSION;
    case "role":
      return ROLE;
    case "permission":
      return PERMISSION;
    case "waitlistEntry":
      return WAITLIST;
    case "email":
    case "sms":
    case "subscription":
    case "subscriptionItem":
    case "paymentAttempt":
      return WITH_ID;
    default:
      return VERSIONED;
  }
}

function checkShape(value: Record<string, unknown>, shape: Shape, path: string): void {
  for (const key in shape) {
    const check = shape[key] as Check;
    if (!check(value[key])) {
      const expected = NAMES.get(check) ?? "a value of another type";
      throw new ClerkSyncError(
        "invalid_event",
        `${path}.${key} is not ${value[key] === undefined ? "present" : expected === "a value of another type" ? "of the expected type" : expected}`,
      );
    }
  }
}

function checkItems(items: unknown, shape: Shape, path: string): void {
  if (!Array.isArray(items)) return;
  items.forEach((item, i) => {
    if (!isObject(item)) throw new ClerkSyncError("invalid_event", `${path}[${i}] is not an object`);
    checkShape(item, shape, `${path}[${i}]`);
  });
}

/**
 * Validates an already-parsed JSON value as a Clerk event envelope and checks every field that
 * clerk-sync stores. Unknown event types pass with only the envelope checked.
 *
 * @example
 * const parsed = validateEvent(JSON.parse(body));
 * if (parsed.known && parsed.event.type === "user.created") …
 */
export function validateEvent(value: unknown): ParsedEvent {
  if (!isObject(value)) {
    throw new ClerkSyncError("invalid_payload", "The body is not a JSON object");
  }
  const { type, data, timestamp } = value;
  if (typeof type !== "string" || type.length === 0) {
    throw new ClerkSyncError("invalid_payload", "The event has no string `type`");
  }
  if (!isObject(data)) {
    throw new ClerkSyncError("invalid_payload", "The event has no object `data`");
  }
  if (!num(timestamp) || (timestamp as number) < 0) {
    throw new ClerkSyncError("invalid_payload", "The event has no `timestamp` that is a whole number within 2^53");
  }
  if (!isKnownEventType(type)) {
    return { known: false, event: value as unknown as UnknownClerkEvent };
  }
  checkShape(data, shapeFor(type), "data");
  if (type === "user.created" || type === "user.updated") {
    checkItems(data.email_addresses, EMAIL_ADDRESS, "data.email_addresses");
    checkItems(data.phone_numbers, PHONE_NUMBER, "data.phone_numbers");
  }
  if (
    type === "organizationMembership.created" ||
    type === "organizationMembership.updated" ||
    type === "organizationMembership.deleted"
  ) {
    checkShape(data.organization as Record<string, unknown>, { id: nonEmpty }, "data.organization");
    checkShape(data.public_user_data as Record<string, unknown>, { user_id: nonEmpty }, "data.public_user_data");
  }
  return { known: true, event: value as unknown as ClerkWebhookEvent };
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes and parses a raw delivery body (UTF-8 JSON) into a validated event.
 *
 * @example
 * const parsed = parseEvent(rawBytes);
 */
export function parseEvent(body: Uint8Array | string): ParsedEvent {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === "string" ? body : decoder.decode(body));
  } catch (cause) {
    throw new ClerkSyncError("invalid_payload", "The body is not valid UTF-8 JSON", { cause });
  }
  return validateEvent(value);
}
