/**
 * Typed Clerk webhook events. The union narrows by `type`, as Clerk's own `WebhookEvent` does:
 *
 * @example
 * if (event.type === "user.updated") event.data.first_name; // string | null
 */

/** Metadata objects as Clerk sends them. */
export type Metadata = Record<string, unknown>;

export interface EmailAddressJSON {
  object: "email_address";
  id: string;
  email_address: string;
  verification: { status: string; strategy?: string } | null;
  [key: string]: unknown;
}

export interface PhoneNumberJSON {
  object: "phone_number";
  id: string;
  phone_number: string;
  [key: string]: unknown;
}

export interface UserJSON {
  object: "user";
  id: string;
  external_id: string | null;
  username: string | null;
  first_name: string | null;
  last_name: string | null;
  image_url: string | null;
  primary_email_address_id: string | null;
  primary_phone_number_id: string | null;
  email_addresses: EmailAddressJSON[];
  phone_numbers: PhoneNumberJSON[];
  public_metadata: Metadata | null;
  private_metadata: Metadata | null;
  unsafe_metadata: Metadata | null;
  banned: boolean;
  locked: boolean;
  last_sign_in_at: number | null;
  last_active_at: number | null;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

/** What `*.deleted` events carry for users, organizations, domains, roles and permissions. */
export interface DeletedObjectJSON {
  object: string;
  id: string;
  deleted: true;
  slug?: string | null;
  external_id?: string | null;
  [key: string]: unknown;
}

export interface OrganizationJSON {
  object: "organization";
  id: string;
  name: string;
  slug: string | null;
  image_url?: string | null;
  created_by?: string | null;
  public_metadata: Metadata | null;
  private_metadata: Metadata | null;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

export interface PublicUserDataJSON {
  user_id: string;
  first_name: string | null;
  last_name: string | null;
  image_url?: string | null;
  identifier: string;
  [key: string]: unknown;
}

export interface OrganizationMembershipJSON {
  object: "organization_membership";
  id: string;
  role: string;
  permissions: string[];
  organization: OrganizationJSON;
  public_user_data: PublicUserDataJSON;
  public_metadata: Metadata | null;
  private_metadata: Metadata | null;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

export interface OrganizationInvitationJSON {
  object: "organization_invitation";
  id: string;
  email_address: string;
  organization_id: string;
  role: string;
  status: string;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

export interface OrganizationDomainJSON {
  object: "organization_domain";
  id: string;
  name: string;
  organization_id: string;
  enrollment_mode: string;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

export interface SessionJSON {
  object: "session";
  id: string;
  user_id: string;
  client_id: string;
  status: string;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

export interface RoleJSON {
  object: "role";
  id: string;
  key: string;
  name: string;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

export interface PermissionJSON {
  object: "permission";
  id: string;
  key: string;
  name: string;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

export interface EmailJSON {
  object: "email";
  id: string;
  to_email_address?: string;
  status?: string;
  [key: string]: unknown;
}

export interface SmsJSON {
  object: "sms_message";
  id: string;
  to_phone_number?: string;
  status?: string;
  [key: string]: unknown;
}

export interface WaitlistEntryJSON {
  object: "waitlistEntry";
  id: string;
  email_address: string;
  status: string;
  created_at: number;
  updated_at: number;
  [key: string]: unknown;
}

/** Billing objects (subscriptions, subscription items, payment attempts), mirrored generically. */
export interface BillingObjectJSON {
  id: string;
  object?: string;
  updated_at?: number;
  [key: string]: unknown;
}

/** Every Clerk event type known today, mapped to the shape of its `data`. */
export interface ClerkEventDataMap {
  "user.created": UserJSON;
  "user.updated": UserJSON;
  "user.deleted": DeletedObjectJSON;
  "email.created": EmailJSON;
  "sms.created": SmsJSON;
  "session.created": SessionJSON;
  "session.ended": SessionJSON;
  "session.pending": SessionJSON;
  "session.removed": SessionJSON;
  "session.revoked": SessionJSON;
  "organization.created": OrganizationJSON;
  "organization.updated": OrganizationJSON;
  "organization.deleted": DeletedObjectJSON;
  "organizationDomain.created": OrganizationDomainJSON;
  "organizationDomain.updated": OrganizationDomainJSON;
  "organizationDomain.deleted": DeletedObjectJSON;
  "organizationInvitation.created": OrganizationInvitationJSON;
  "organizationInvitation.accepted": OrganizationInvitationJSON;
  "organizationInvitation.revoked": OrganizationInvitationJSON;
  "organizationMembership.created": OrganizationMembershipJSON;
  "organizationMembership.updated": OrganizationMembershipJSON;
  "organizationMembership.deleted": OrganizationMembershipJSON;
  "role.created": RoleJSON;
  "role.updated": RoleJSON;
  "role.deleted": DeletedObjectJSON;
  "permission.created": PermissionJSON;
  "permission.updated": PermissionJSON;
  "permission.deleted": DeletedObjectJSON;
  "waitlistEntry.created": WaitlistEntryJSON;
  "waitlistEntry.updated": WaitlistEntryJSON;
  "subscription.created": BillingObjectJSON;
  "subscription.updated": BillingObjectJSON;
  "subscription.active": BillingObjectJSON;
  "subscription.pastDue": BillingObjectJSON;
  "subscriptionItem.updated": BillingObjectJSON;
  "subscriptionItem.active": BillingObjectJSON;
  "subscriptionItem.canceled": BillingObjectJSON;
  "subscriptionItem.upcoming": BillingObjectJSON;
  "subscriptionItem.ended": BillingObjectJSON;
  "subscriptionItem.abandoned": BillingObjectJSON;
  "subscriptionItem.incomplete": BillingObjectJSON;
  "subscriptionItem.pastDue": BillingObjectJSON;
  "subscriptionItem.freeTrialEnding": BillingObjectJSON;
  "paymentAttempt.created": BillingObjectJSON;
  "paymentAttempt.updated": BillingObjectJSON;
}

export type ClerkEventType = keyof ClerkEventDataMap;

/** The list of known event types, for iteration and validation. */
export const CLERK_EVENT_TYPES = [
  "user.created",
  "user.updated",
  "user.deleted",
  "email.created",
  "sms.created",
  "session.created",
  "session.ended",
  "session.pending",
  "session.removed",
  "session.revoked",
  "organization.created",
  "organization.updated",
  "organization.deleted",
  "organizationDomain.created",
  "organizationDomain.updated",
  "organizationDomain.deleted",
  "organizationInvitation.created",
  "organizationInvitation.accepted",
  "organizationInvitation.revoked",
  "organizationMembership.created",
  "organizationMembership.updated",
  "organizationMembership.deleted",
  "role.created",
  "role.updated",
  "role.deleted",
  "permission.created",
  "permission.updated",
  "permission.deleted",
  "waitlistEntry.created",
  "waitlistEntry.updated",
  "subscription.created",
  "subscription.updated",
  "subscription.active",
  "subscription.pastDue",
  "subscriptionItem.updated",
  "subscriptionItem.active",
  "subscriptionItem.canceled",
  "subscriptionItem.upcoming",
  "subscriptionItem.ended",
  "subscriptionItem.abandoned",
  "subscriptionItem.incomplete",
  "subscriptionItem.pastDue",
  "subscriptionItem.freeTrialEnding",
  "paymentAttempt.created",
  "paymentAttempt.updated",
] as const satisfies readonly ClerkEventType[];

/** The envelope Clerk wraps every event in. */
export interface ClerkEventEnvelope<T extends string, D> {
  object: "event";
  type: T;
  data: D;
  /** As sent: seconds or milliseconds (Clerk's docs and spec disagree). */
  timestamp: number;
  instance_id?: string;
  event_attributes?: Record<string, unknown>;
}

/** A known Clerk event: a union that narrows by `type`. */
export type ClerkWebhookEvent<T extends ClerkEventType = ClerkEventType> = {
  [K in T]: ClerkEventEnvelope<K, ClerkEventDataMap[K]>;
}[T];

/** An event whose type clerk-sync does not know yet: accepted, recorded, acknowledged. */
export type UnknownClerkEvent = ClerkEventEnvelope<string, Record<string, unknown>>;

/** Whether a type string is one of the known event types. */
export function isKnownEventType(type: string): type is ClerkEventType {
  return KNOWN.has(type);
}

const KNOWN: ReadonlySet<string> = new Set(CLERK_EVENT_TYPES);

/**
 * Normalises an envelope timestamp to epoch milliseconds (values below 1e12 are seconds).
 *
 * @example
 * normalizeTimestamp(1716883200); // 1716883200000
 */
export function normalizeTimestamp(timestamp: number): number {
  return timestamp < 1e12 ? timestamp * 1000 : timestamp;
}
