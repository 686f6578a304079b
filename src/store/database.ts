import type { ColumnType, Generated } from "kysely";

/**
 * The tables clerk-sync maintains, typed for Kysely queries. Times are epoch milliseconds.
 * JSON columns are strings on SQLite and parsed values on PostgreSQL and MySQL; booleans are
 * 0/1 on SQLite and MySQL. The query helpers in `clerk-sync/store` normalise both.
 */
export interface ClerkSyncDatabase {
  clerk_users: ClerkUsersTable;
  clerk_user_email_addresses: ClerkUserEmailAddressesTable;
  clerk_webhook_events: ClerkWebhookEventsTable;
}

type Json = unknown;
type Bool = boolean | number;
type Millis = ColumnType<number, number, number>;

export interface ClerkUsersTable {
  id: string;
  version: Millis;
  deleted_at: Millis | null;
  external_id: string | null;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  image_url: string | null;
  primary_email_address: string | null;
  primary_phone_number: string | null;
  public_metadata: Json;
  private_metadata: Json;
  unsafe_metadata: Json;
  banned: Bool | null;
  locked: Bool | null;
  last_sign_in_at: Millis | null;
  last_active_at: Millis | null;
  created_at: Millis | null;
  updated_at: Millis | null;
  data: Json;
}

export interface ClerkUserEmailAddressesTable {
  id: string;
  user_id: string;
  email_address: string;
  verification_status: string | null;
  is_primary: Bool;
}

export interface ClerkWebhookEventsTable {
  svix_id: string;
  type: string;
  object_type: string | null;
  object_id: string | null;
  event_timestamp: Millis | null;
  first_received_at: Millis;
  last_received_at: Millis;
  delivery_count: Generated<number>;
  status: string;
  last_outcome: string;
  error_code: string | null;
  error_message: string | null;
  payload: string;
}
