/**
 * The JSON shapes Clerk's Backend API answers with, built from a few fields. A user from the API
 * has the same JSON as a webhook's `data` (compare fixtures/clerk-examples/user.created.json).
 */
import { ClerkSyncError } from "../core/errors.js";
import type {
  EmailAddressJSON,
  Metadata,
  OrganizationJSON,
  OrganizationMembershipJSON,
  UserJSON,
} from "../core/events.js";

/** An organization membership as the stand-in keeps it: the API answer embeds its organization and user. */
export interface MembershipRecord {
  id: string;
  organization_id: string;
  user_id: string;
  role: string;
  role_name: string;
  permissions: string[];
  public_metadata: Metadata;
  private_metadata: Metadata;
  created_at: number;
  updated_at: number;
}

/** The permissions of Clerk's two default organization roles. */
const ROLE_PERMISSIONS: Record<string, { name: string; permissions: string[] }> = {
  "org:admin": {
    name: "Admin",
    permissions: [
      "org:sys_profile:manage",
      "org:sys_profile:delete",
      "org:sys_memberships:read",
      "org:sys_memberships:manage",
      "org:sys_domains:read",
      "org:sys_domains:manage",
    ],
  },
  "org:member": { name: "Member", permissions: ["org:sys_memberships:read"] },
};

/** Role name and permissions for a role key (custom roles get their key as name and no permissions). */
export function roleDetails(role: string): { role_name: string; permissions: string[] } {
  const known = ROLE_PERMISSIONS[role];
  return known
    ? { role_name: known.name, permissions: [...known.permissions] }
    : { role_name: role.replace(/^org:/, ""), permissions: [] };
}

/** An email address object as it appears in a user's `email_addresses`. */
export function emailAddressJSON(id: string, address: string, at: number): EmailAddressJSON {
  const verification = { status: "verified", strategy: "email_code", attempts: 1, expire_at: at + 600_000 };
  return {
    object: "email_address",
    id,
    email_address: address,
    reserved: false,
    verification,
    linked_to: [],
    matches_sso_connection: false,
    created_at: at,
    updated_at: at,
  };
}

/** The fields a user is built from; everything else takes Clerk's defaults for a password user. */
export interface UserFields {
  id: string;
  first_name: string | null;
  last_name: string | null;
  username: string | null;
  external_id: string | null;
  email_addresses: EmailAddressJSON[];
  primary_email_address_id: string | null;
  public_metadata: Metadata;
  private_metadata: Metadata;
  unsafe_metadata: Metadata;
  created_at: number;
  updated_at: number;
  last_sign_in_at: number | null;
  last_active_at: number | null;
}

/** A user in the Backend API's (and webhooks') JSON, with the keys in Clerk's order. */
export function userJSON(f: UserFields): UserJSON {
  return {
    object: "user",
    id: f.id,
    external_id: f.external_id,
    primary_email_address_id: f.primary_email_address_id,
    primary_phone_number_id: null,
    primary_web3_wallet_id: null,
    username: f.username,
    first_name: f.first_name,
    last_name: f.last_name,
    profile_image_url: "https://img.clerk.com/placeholder",
    image_url: "https://img.clerk.com/placeholder",
    has_image: false,
    public_metadata: f.public_metadata,
    private_metadata: f.private_metadata,
    unsafe_metadata: f.unsafe_metadata,
    email_addresses: f.email_addresses,
    phone_numbers: [],
    web3_wallets: [],
    passkeys: [],
    password_enabled: true,
    two_factor_enabled: false,
    totp_enabled: false,
    backup_code_enabled: false,
    mfa_enabled_at: null,
    mfa_disabled_at: null,
    external_accounts: [],
    saml_accounts: [],
    enterprise_accounts: [],
    last_sign_in_at: f.last_sign_in_at,
    banned: false,
    locked: false,
    lockout_expires_in_seconds: null,
    verification_attempts_remaining: 100,
    updated_at: f.updated_at,
    created_at: f.created_at,
    delete_self_enabled: true,
    create_organization_enabled: true,
    create_organizations_limit: null,
    last_active_at: f.last_active_at,
    legal_accepted_at: null,
  };
}

/** The fields an organization is built from. */
export interface OrganizationFields {
  id: string;
  name: string;
  slug: string;
  created_by: string | null;
  public_metadata: Metadata;
  private_metadata: Metadata;
  created_at: number;
  updated_at: number;
}

/** An organization as stored (without `members_count`, which is counted when it is answered). */
export function organizationJSON(f: OrganizationFields): OrganizationJSON {
  return {
    object: "organization",
    id: f.id,
    name: f.name,
    slug: f.slug,
    image_url: "https://img.clerk.com/placeholder",
    has_image: false,
    max_allowed_memberships: 100,
    admin_delete_enabled: true,
    public_metadata: f.public_metadata,
    private_metadata: f.private_metadata,
    created_by: f.created_by,
    created_at: f.created_at,
    updated_at: f.updated_at,
  };
}

/** An organization as the API answers it: with its current `members_count`. */
export function organizationAnswer(org: OrganizationJSON, membersCount: number): OrganizationJSON {
  return {
    ...org,
    members_count: membersCount,
    missing_member_with_elevated_permissions: false,
    pending_invitations_count: 0,
  };
}

/** The primary email address of a user, or its username, as `public_user_data.identifier` shows it. */
export function userIdentifier(user: UserJSON): string {
  const primary = user.email_addresses.find((e) => e.id === user.primary_email_address_id);
  return primary?.email_address ?? user.username ?? "";
}

/** A membership as the API (and `organizationMembership.*` webhooks) answer it. */
export function membershipAnswer(
  record: MembershipRecord,
  organization: OrganizationJSON,
  user: UserJSON | undefined,
): OrganizationMembershipJSON {
  return {
    object: "organization_membership",
    id: record.id,
    role: record.role,
    role_name: record.role_name,
    permissions: [...record.permissions],
    public_metadata: record.public_metadata,
    private_metadata: record.private_metadata,
    organization,
    public_user_data: {
      user_id: record.user_id,
      first_name: user?.first_name ?? null,
      last_name: user?.last_name ?? null,
      profile_image_url: user?.image_url ?? null,
      image_url: user?.image_url ?? null,
      has_image: false,
      identifier: user ? userIdentifier(user) : "",
      username: user?.username ?? null,
    },
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
}

/** A membership record from either the API's JSON or a record. */
export function membershipRecordFrom(m: OrganizationMembershipJSON | MembershipRecord): MembershipRecord {
  if ("organization_id" in m && typeof m.organization_id === "string") return structuredClone(m as MembershipRecord);
  const api = m as OrganizationMembershipJSON;
  const organizationId = api.organization?.id;
  const userId = api.public_user_data?.user_id;
  if (typeof api.id !== "string" || typeof organizationId !== "string" || typeof userId !== "string") {
    throw new ClerkSyncError("invalid_config", "Every seeded membership needs an id, an organization and a user id");
  }
  return {
    id: api.id,
    organization_id: organizationId,
    user_id: userId,
    role: api.role,
    role_name: typeof api.role_name === "string" ? api.role_name : roleDetails(api.role).role_name,
    permissions: [...(api.permissions ?? [])],
    public_metadata: structuredClone(api.public_metadata ?? {}),
    private_metadata: structuredClone(api.private_metadata ?? {}),
    created_at: api.created_at,
    updated_at: api.updated_at,
  };
}
