import type { ClerkWebhookEvent, UserJSON } from "./events.js";
import { normalizeTimestamp } from "./events.js";
import type { ChildTableName, EntityTableName } from "./schema.js";

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

function userValues(user: UserJSON): Record<string, unknown> {
  const primaryEmail = user.email_addresses?.find((e) => e.id === user.primary_email_address_id);
  const primaryPhone = user.phone_numbers?.find((p) => p.id === user.primary_phone_number_id);
  return {
    external_id: user.external_id ?? null,
    username: user.username ?? null,
    first_name: user.first_name ?? null,
    last_name: user.last_name ?? null,
    image_url: user.image_url ?? null,
    primary_email_address: primaryEmail?.email_address ?? null,
    primary_phone_number: primaryPhone?.phone_number ?? null,
    public_metadata: user.public_metadata ?? null,
    private_metadata: user.private_metadata ?? null,
    unsafe_metadata: user.unsafe_metadata ?? null,
    banned: user.banned ?? false,
    locked: user.locked ?? false,
    last_sign_in_at: user.last_sign_in_at ?? null,
    last_active_at: user.last_active_at ?? null,
    created_at: user.created_at,
    updated_at: user.updated_at,
    data: user,
  };
}

function userEmailRows(user: UserJSON): Record<string, unknown>[] {
  return (user.email_addresses ?? []).map((email) => ({
    id: email.id,
    user_id: user.id,
    email_address: email.email_address,
    verification_status: email.verification?.status ?? null,
    is_primary: email.id === user.primary_email_address_id,
  }));
}

/**
 * Maps a known event to the mutations it asks for; an empty list means the event is recorded
 * as a delivery but changes no mirrored table (`ignored`).
 *
 * @example
 * const [m] = mapEvent(event); // { op: "upsert", table: "clerk_users", id, version, … }
 */
export function mapEvent(event: ClerkWebhookEvent): Mutation[] {
  switch (event.type) {
    case "user.created":
    case "user.updated": {
      const user = event.data;
      return [
        {
          op: "upsert",
          table: "clerk_users",
          id: user.id,
          version: user.updated_at,
          values: userValues(user),
          children: [{ table: "clerk_user_email_addresses", parentId: user.id, rows: userEmailRows(user) }],
        },
      ];
    }
    case "user.deleted":
      return [
        {
          op: "delete",
          table: "clerk_users",
          id: event.data.id,
          version: normalizeTimestamp(event.timestamp),
          children: ["clerk_user_email_addresses"],
        },
      ];
    default:
      return [];
  }
}
