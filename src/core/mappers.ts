import type { ClerkWebhookEvent, UserJSON } from "./events.js";
import { normalizeTimestamp } from "./events.js";
import { type ChildTableName, ENTITY_TABLES, type EntityTableName } from "./schema.js";

/** Rows to put in place of a parent's current children (e.g. a user's email addresses). */
export interface ChildSet {
  readonly table: ChildTableName;
  readonly parentId: string;
  readonly rows: readonly Record<string, unknown>[];
}

/** What an event asks of the mirrored tables, before the version guard decides. */
export type Mutation =
  | {
      readonly op: "upsert";
      readonly table: EntityTableName;
      readonly id: string;
      readonly version: number;
      readonly values: Record<string, unknown>;
      readonly children: readonly ChildSet[];
    }
  | {
      readonly op: "delete";
      readonly table: EntityTableName;
      readonly id: string;
      readonly version: number;
      readonly children: readonly ChildTableName[];
    };

type Data = Record<string, unknown>;

/**
 * Columns taken from the payload by name; `data` is the whole object, or its JSON text as the
 * delivery carried it (`dataText`), which the stores write as it is (see {@link mapEvent}).
 */
function valuesByName(table: EntityTableName, data: Data, computed: Data, dataText: string | undefined): Data {
  const values: Data = {};
  for (const column of Object.keys(ENTITY_TABLES[table].columns)) {
    values[column] =
      column in computed ? computed[column] : column === "data" ? (dataText ?? data) : (data[column] ?? null);
  }
  return values;
}

/** The event's `data` and, if known, its JSON text: what every upsert's `data` column holds. */
interface EventData {
  readonly data: Data;
  readonly text: string | undefined;
}

function upsert(
  table: EntityTableName,
  { data, text }: EventData,
  version: number,
  computed: Data = {},
  children: ChildSet[] = [],
): Mutation {
  const values = valuesByName(table, data, computed, text);
  return { op: "upsert", table, id: data.id as string, version, values, children };
}

function remove(table: EntityTableName, id: string, timestamp: number, children: ChildTableName[] = []): Mutation {
  return { op: "delete", table, id, version: normalizeTimestamp(timestamp), children };
}

function userMutation(user: UserJSON, text: string | undefined): Mutation {
  const primaryEmail = user.email_addresses?.find((e) => e.id === user.primary_email_address_id);
  const primaryPhone = user.phone_numbers?.find((p) => p.id === user.primary_phone_number_id);
  const emails = (user.email_addresses ?? []).map((email) => ({
    id: email.id,
    user_id: user.id,
    email_address: email.email_address,
    verification_status: email.verification?.status ?? null,
    is_primary: email.id === user.primary_email_address_id,
  }));
  return upsert(
    "clerk_users",
    { data: user, text },
    user.updated_at,
    {
      primary_email_address: primaryEmail?.email_address ?? null,
      primary_phone_number: primaryPhone?.phone_number ?? null,
      banned: user.banned ?? false,
      locked: user.locked ?? false,
    },
    [{ table: "clerk_user_email_addresses", parentId: user.id, rows: emails }],
  );
}

/** Version of a payload: its `updated_at`, else the envelope time. */
function versionOf(data: Data, timestamp: number): number {
  return typeof data.updated_at === "number" ? data.updated_at : normalizeTimestamp(timestamp);
}

/** Event kinds whose objects live in the generic `clerk_objects` table. */
const GENERIC_KINDS = new Set(["subscription", "subscriptionItem", "paymentAttempt"]);

/**
 * Maps a known event to the mutations it asks for; an empty list means the event is recorded
 * as a delivery but changes no mirrored table (`ignored`): `email.created` and `sms.created`
 * are messages, not state.
 *
 * An upsert's `data` column is the event's `data` object, or `dataText`, that object's JSON text
 * as the delivery carried it (see `objectMemberText`): the stores write a string there as it is,
 * sparing a `JSON.stringify` of the largest part of the payload.
 *
 * @example
 * const [m] = mapEvent(event); // { op: "upsert", table: "clerk_users", id, version, … }
 */
export function mapEvent(event: ClerkWebhookEvent, dataText?: string): Mutation[] {
  const kind = event.type.slice(0, event.type.indexOf("."));
  const whole: EventData = { data: event.data as Data, text: dataText };
  if (GENERIC_KINDS.has(kind)) {
    return [upsert("clerk_objects", whole, versionOf(whole.data, event.timestamp), { object_type: kind })];
  }
  switch (event.type) {
    case "user.created":
    case "user.updated":
      return [userMutation(event.data, dataText)];
    case "user.deleted":
      return [remove("clerk_users", event.data.id, event.timestamp, ["clerk_user_email_addresses"])];
    case "organization.created":
    case "organization.updated":
      return [upsert("clerk_organizations", whole, event.data.updated_at)];
    case "organization.deleted":
      return [remove("clerk_organizations", event.data.id, event.timestamp)];
    case "organizationMembership.created":
    case "organizationMembership.updated":
    case "organizationMembership.deleted": {
      const m = event.data;
      const membership = upsert("clerk_organization_memberships", whole, m.updated_at, {
        organization_id: m.organization.id,
        user_id: m.public_user_data.user_id,
      });
      // The deletion carries the whole membership: keep its last state, then the tombstone.
      return event.type === "organizationMembership.deleted"
        ? [membership, remove("clerk_organization_memberships", m.id, event.timestamp)]
        : [membership];
    }
    case "organizationInvitation.created":
    case "organizationInvitation.accepted":
    case "organizationInvitation.revoked":
      return [upsert("clerk_organization_invitations", whole, event.data.updated_at)];
    case "organizationDomain.created":
    case "organizationDomain.updated":
      return [upsert("clerk_organization_domains", whole, event.data.updated_at)];
    case "organizationDomain.deleted":
      return [remove("clerk_organization_domains", event.data.id, event.timestamp)];
    case "session.created":
    case "session.ended":
    case "session.pending":
    case "session.removed":
    case "session.revoked":
      return [upsert("clerk_sessions", whole, event.data.updated_at)];
    case "role.created":
    case "role.updated":
      return [upsert("clerk_roles", whole, event.data.updated_at)];
    case "role.deleted":
      return [remove("clerk_roles", event.data.id, event.timestamp)];
    case "permission.created":
    case "permission.updated":
      return [upsert("clerk_permissions", whole, event.data.updated_at)];
    case "permission.deleted":
      return [remove("clerk_permissions", event.data.id, event.timestamp)];
    case "waitlistEntry.created":
    case "waitlistEntry.updated":
      return [upsert("clerk_waitlist_entries", whole, event.data.updated_at)];
    default:
      return [];
  }
}

/** The kinds of object the Backend API lists that clerk-sync mirrors from snapshots. */
export type SnapshotKind = "user" | "organization" | "organization_membership";

/**
 * Maps an object as Clerk's Backend API answers it (the same JSON as a webhook's `data`) to the
 * upsert a webhook of its current state would ask for, its version the object's `updated_at`:
 * what backfill, reconciliation and read-through write through `applySnapshot`.
 *
 * @example
 * const [m] = mapSnapshot("user", await client.getUser("user_2…"));
 */
export function mapSnapshot(kind: SnapshotKind, data: Record<string, unknown>, dataText?: string): Mutation[] {
  const type = SNAPSHOT_EVENT[kind];
  const timestamp = typeof data.updated_at === "number" ? data.updated_at : 0;
  return mapEvent({ object: "event", type, data, timestamp } as ClerkWebhookEvent, dataText);
}

const SNAPSHOT_EVENT = {
  user: "user.updated",
  organization: "organization.updated",
  organization_membership: "organizationMembership.updated",
} as const satisfies Record<SnapshotKind, ClerkWebhookEvent["type"]>;
