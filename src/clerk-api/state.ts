/**
 * The stand-in's data: users, organizations and memberships in memory, the listings the routes
 * answer, and the mutations tests make while it runs. Every mutation reports the webhook event
 * Clerk would send (`onChange`); the stand-in signs and delivers it when asked to.
 */
import { ClerkSyncError } from "../core/errors.js";
import type {
  ClerkEventType,
  DeletedObjectJSON,
  Metadata,
  OrganizationJSON,
  OrganizationMembershipJSON,
  UserJSON,
} from "../core/events.js";
import { type OrderBy, type Page, pageOf, sortBy, USER_SORT_KEYS } from "./query.js";
import { pick, type Random, seededKsuid } from "./random.js";
import {
  emailAddressJSON,
  type MembershipRecord,
  membershipAnswer,
  membershipRecordFrom,
  organizationAnswer,
  organizationJSON,
  roleDetails,
  userIdentifier,
  userJSON,
} from "./shapes.js";

/** Data to seed the stand-in with: the API's own JSON (as `snapshot()` or a listing returns it). */
export interface StandInData {
  users?: UserJSON[];
  organizations?: OrganizationJSON[];
  /** Memberships as the API answers them (with `organization` and `public_user_data`), or as records. */
  memberships?: Array<OrganizationMembershipJSON | MembershipRecord>;
}

/** Fields of a new user; whatever is left out is made up. */
export interface UserInput {
  id?: string;
  first_name?: string | null;
  last_name?: string | null;
  username?: string | null;
  external_id?: string | null;
  /** Email addresses; the first is the primary one. One is made up when none is given. */
  email_addresses?: string[];
  public_metadata?: Metadata;
  private_metadata?: Metadata;
  unsafe_metadata?: Metadata;
}

/** Fields of a new organization. */
export interface OrganizationInput {
  id?: string;
  name: string;
  slug?: string;
  /** A user id: that user becomes the organization's first admin, as in Clerk. */
  created_by?: string | null;
  public_metadata?: Metadata;
  private_metadata?: Metadata;
}

/** Fields of a new membership. */
export interface MembershipInput {
  organization_id: string;
  user_id: string;
  /** `org:admin`, `org:member` (default) or a custom role key. */
  role?: string;
  public_metadata?: Metadata;
  private_metadata?: Metadata;
}

/** Filters of the users listing and count. */
export interface UserFilter {
  createdAfter?: number;
  createdBefore?: number;
  userIds?: string[];
  emailAddresses?: string[];
  externalIds?: string[];
}

export type ChangeListener = (type: ClerkEventType, data: Record<string, unknown>) => void;

const clone = <T>(value: T): T => structuredClone(value);
const slugify = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, "-");

/** Users, organizations and memberships of one stand-in instance. */
export class StandInState {
  readonly #users = new Map<string, UserJSON>();
  readonly #organizations = new Map<string, OrganizationJSON>();
  readonly #slugs = new Map<string, string>();
  readonly #memberships = new Map<string, MembershipRecord>();
  readonly #membershipByPair = new Map<string, string>();
  readonly #membersCount = new Map<string, number>();
  readonly #sortedUsers = new Map<string, UserJSON[]>();
  #lastCreatedAt = 0;

  constructor(
    private readonly now: () => number,
    private readonly random: Random,
    private readonly onChange: ChangeListener,
  ) {}

  /** Adds records without reporting them as changes (seeding). */
  load(data: StandInData): void {
    for (const user of data.users ?? []) {
      if (typeof user?.id !== "string" || typeof user.created_at !== "number") {
        throw new ClerkSyncError("invalid_config", "Every seeded user needs a string id and a numeric created_at");
      }
      this.#putUser(clone(user));
    }
    for (const org of data.organizations ?? []) {
      if (typeof org?.id !== "string" || typeof org.created_at !== "number") {
        throw new ClerkSyncError("invalid_config", "Every seeded organization needs an id and a numeric created_at");
      }
      const {
        members_count: _,
        missing_member_with_elevated_permissions: __,
        pending_invitations_count: ___,
        ...kept
      } = org;
      this.#putOrganization(clone(kept) as OrganizationJSON);
    }
    for (const m of data.memberships ?? []) this.#putMembership(membershipRecordFrom(m));
  }

  // ─── Queries ───────────────────────────────────────────────────────────────────────────────

  listUsers(filter: UserFilter, order: OrderBy, offset: number, limit: number): UserJSON[] {
    return this.#filterUsers(filter, order).slice(offset, offset + limit);
  }

  countUsers(filter: UserFilter): number {
    return this.#filterUsers(filter, { field: "created_at", descending: false }).length;
  }

  getUser(id: string): UserJSON | undefined {
    return this.#users.get(id);
  }

  listOrganizations(order: OrderBy, offset: number, limit: number, query?: string): Page<OrganizationJSON> {
    const needle = query?.toLowerCase();
    const orgs = [...this.#organizations.values()]
      .filter((o) => !needle || o.id === query || `${o.name} ${o.slug}`.toLowerCase().includes(needle))
      .map((o) => this.#organizationAnswer(o));
    const sorted = sortBy(orgs, order, (o) => o[order.field] as string | number);
    return pageOf(sorted, offset, limit);
  }

  getOrganization(idOrSlug: string): OrganizationJSON | undefined {
    const org = this.#organizations.get(idOrSlug) ?? this.#organizations.get(this.#slugs.get(idOrSlug) ?? "");
    return org && this.#organizationAnswer(org);
  }

  listMemberships(
    scope: { organizationId?: string; userIds?: string[] },
    order: OrderBy,
    offset: number,
    limit: number,
  ): Page<OrganizationMembershipJSON> {
    const users = scope.userIds && new Set(scope.userIds);
    const records = [...this.#memberships.values()].filter(
      (m) => (!scope.organizationId || m.organization_id === scope.organizationId) && (!users || users.has(m.user_id)),
    );
    const key = (m: MembershipRecord): string | number | null => {
      if (order.field === "created_at") return m.created_at;
      const user = this.#users.get(m.user_id);
      if (!user) return null;
      return order.field === "email_address" ? userIdentifier(user) : ((user[order.field] as string | null) ?? null);
    };
    const page = pageOf(sortBy(records, order, key), offset, limit);
    return { data: page.data.map((m) => this.#membershipAnswer(m)), total_count: page.total_count };
  }

  /** Everything, in the API's JSON (a file `StandInData` can be loaded from). */
  snapshot(): Required<StandInData> {
    return {
      users: [...this.#users.values()].map(clone),
      organizations: [...this.#organizations.values()].map((o) => this.#organizationAnswer(o)),
      memberships: [...this.#memberships.values()].map((m) => this.#membershipAnswer(m)),
    };
  }

  // ─── Mutations ─────────────────────────────────────────────────────────────────────────────

  createUser(input: UserInput = {}): UserJSON {
    const emailInput = input.email_addresses;
    if (emailInput !== undefined && (!Array.isArray(emailInput) || emailInput.some((e) => typeof e !== "string"))) {
      throw new ClerkSyncError("invalid_config", "email_addresses must be a list of addresses");
    }
    const at = this.#creationTime();
    const id = input.id ?? `user_${seededKsuid(this.random, at)}`;
    if (this.#users.has(id)) throw new ClerkSyncError("invalid_config", `A user ${id} already exists`);
    const first = input.first_name === undefined ? pick(this.random, ["Ann", "Bo", "Cy", "Di"]) : input.first_name;
    const last = input.last_name === undefined ? pick(this.random, ["Lee", "Ng", "Ruiz"]) : input.last_name;
    const addresses = input.email_addresses ?? [
      `${first ?? "user"}.${id.slice(-8)}@example.com`.toLowerCase().replace(/[^a-z0-9.@+_-]/g, ""),
    ];
    const emails = addresses.map((a) => emailAddressJSON(`idn_${seededKsuid(this.random, at)}`, a, at));
    const user = userJSON({
      id,
      first_name: first,
      last_name: last,
      username: input.username ?? null,
      external_id: input.external_id ?? null,
      email_addresses: emails,
      primary_email_address_id: emails[0]?.id ?? null,
      public_metadata: input.public_metadata ?? {},
      private_metadata: input.private_metadata ?? {},
      unsafe_metadata: input.unsafe_metadata ?? {},
      created_at: at,
      updated_at: at,
      last_sign_in_at: null,
      last_active_at: null,
    });
    this.#putUser(user);
    this.onChange("user.created", clone(user));
    return clone(user);
  }

  updateUser(id: string, patch: Partial<UserJSON>): UserJSON {
    const current = this.#requireUser(id);
    const user: UserJSON = {
      ...current,
      ...clone(patch),
      object: "user",
      id,
      created_at: current.created_at,
      updated_at: this.#updateTime(current.updated_at),
    };
    this.#putUser(user);
    this.onChange("user.updated", clone(user));
    return clone(user);
  }

  deleteUser(id: string): DeletedObjectJSON {
    const user = this.#requireUser(id);
    for (const m of [...this.#memberships.values()]) if (m.user_id === id) this.deleteMembership(m.id);
    this.#users.delete(id);
    this.#sortedUsers.clear();
    const stub: DeletedObjectJSON = { object: "user", id, deleted: true, external_id: user.external_id };
    this.onChange("user.deleted", clone(stub));
    return stub;
  }

  createOrganization(input: OrganizationInput): OrganizationJSON {
    if (typeof input.name !== "string" || input.name.trim() === "") {
      throw new ClerkSyncError("invalid_config", "An organization needs a name");
    }
    const at = this.#creationTime();
    const id = input.id ?? `org_${seededKsuid(this.random, at)}`;
    const slug = input.slug ?? slugify(input.name);
    if (this.#organizations.has(id) || this.#slugs.has(slug)) {
      throw new ClerkSyncError("invalid_config", `An organization ${id} or with slug "${slug}" already exists`);
    }
    if (input.created_by) this.#requireUser(input.created_by);
    const org = organizationJSON({
      id,
      name: input.name,
      slug,
      created_by: input.created_by ?? null,
      public_metadata: input.public_metadata ?? {},
      private_metadata: input.private_metadata ?? {},
      created_at: at,
      updated_at: at,
    });
    this.#putOrganization(org);
    this.onChange("organization.created", this.#organizationAnswer(org));
    if (input.created_by) this.createMembership({ organization_id: id, user_id: input.created_by, role: "org:admin" });
    return this.#organizationAnswer(org);
  }

  updateOrganization(idOrSlug: string, patch: Partial<OrganizationJSON>): OrganizationJSON {
    const current = this.#requireOrganization(idOrSlug);
    const slug = patch.slug ?? current.slug;
    if (slug !== current.slug && slug && this.#slugs.has(slug)) {
      throw new ClerkSyncError("invalid_config", `An organization with slug "${slug}" already exists`);
    }
    if (current.slug) this.#slugs.delete(current.slug);
    const org: OrganizationJSON = {
      ...current,
      ...clone(patch),
      object: "organization",
      id: current.id,
      slug,
      created_at: current.created_at,
      updated_at: this.#updateTime(current.updated_at),
    };
    this.#putOrganization(org);
    this.onChange("organization.updated", this.#organizationAnswer(org));
    return this.#organizationAnswer(org);
  }

  deleteOrganization(idOrSlug: string): DeletedObjectJSON {
    const org = this.#requireOrganization(idOrSlug);
    for (const m of [...this.#memberships.values()]) if (m.organization_id === org.id) this.deleteMembership(m.id);
    this.#organizations.delete(org.id);
    if (org.slug) this.#slugs.delete(org.slug);
    this.#membersCount.delete(org.id);
    const stub: DeletedObjectJSON = { object: "organization", id: org.id, slug: org.slug, deleted: true };
    this.onChange("organization.deleted", clone(stub));
    return stub;
  }

  createMembership(input: MembershipInput): OrganizationMembershipJSON {
    const org = this.#requireOrganization(input.organization_id);
    this.#requireUser(input.user_id);
    if (this.#membershipByPair.has(`${org.id}:${input.user_id}`)) {
      throw new ClerkSyncError("invalid_config", `User ${input.user_id} is already a member of ${org.id}`);
    }
    const at = this.#creationTime();
    const role = input.role ?? "org:member";
    const record: MembershipRecord = {
      id: `orgmem_${seededKsuid(this.random, at)}`,
      organization_id: org.id,
      user_id: input.user_id,
      role,
      ...roleDetails(role),
      public_metadata: input.public_metadata ?? {},
      private_metadata: input.private_metadata ?? {},
      created_at: at,
      updated_at: at,
    };
    this.#putMembership(record);
    const answer = this.#membershipAnswer(record);
    this.onChange("organizationMembership.created", answer);
    return clone(answer);
  }

  updateMembership(
    id: string,
    patch: { role?: string; public_metadata?: Metadata; private_metadata?: Metadata },
  ): OrganizationMembershipJSON {
    const current = this.#memberships.get(id);
    if (!current) throw new ClerkSyncError("not_found", `No organization membership ${id}`);
    const record: MembershipRecord = {
      ...current,
      ...(patch.role ? { role: patch.role, ...roleDetails(patch.role) } : {}),
      public_metadata: clone(patch.public_metadata ?? current.public_metadata),
      private_metadata: clone(patch.private_metadata ?? current.private_metadata),
      updated_at: this.#updateTime(current.updated_at),
    };
    this.#memberships.set(id, record);
    const answer = this.#membershipAnswer(record);
    this.onChange("organizationMembership.updated", answer);
    return clone(answer);
  }

  deleteMembership(id: string): OrganizationMembershipJSON {
    const record = this.#memberships.get(id);
    if (!record) throw new ClerkSyncError("not_found", `No organization membership ${id}`);
    const answer = this.#membershipAnswer(record);
    this.#memberships.delete(id);
    this.#membershipByPair.delete(`${record.organization_id}:${record.user_id}`);
    this.#membersCount.set(record.organization_id, (this.#membersCount.get(record.organization_id) ?? 1) - 1);
    this.onChange("organizationMembership.deleted", answer);
    return clone(answer);
  }

  // ─── Internals ─────────────────────────────────────────────────────────────────────────────

  /** "Now", never earlier than the last creation: a new object lands at the end of `+created_at`. */
  #creationTime(): number {
    this.#lastCreatedAt = Math.max(this.now(), this.#lastCreatedAt);
    return this.#lastCreatedAt;
  }

  /** "Now", and always later than the previous version, so that each update is a newer version. */
  #updateTime(previous: number): number {
    return Math.max(this.now(), previous + 1);
  }

  #putUser(user: UserJSON): void {
    this.#users.set(user.id, user);
    this.#lastCreatedAt = Math.max(this.#lastCreatedAt, user.created_at);
    this.#sortedUsers.clear();
  }

  #putOrganization(org: OrganizationJSON): void {
    this.#organizations.set(org.id, org);
    if (org.slug) this.#slugs.set(org.slug, org.id);
    this.#lastCreatedAt = Math.max(this.#lastCreatedAt, org.created_at);
  }

  #putMembership(record: MembershipRecord): void {
    this.#memberships.set(record.id, record);
    this.#membershipByPair.set(`${record.organization_id}:${record.user_id}`, record.id);
    this.#membersCount.set(record.organization_id, (this.#membersCount.get(record.organization_id) ?? 0) + 1);
    this.#lastCreatedAt = Math.max(this.#lastCreatedAt, record.created_at);
  }

  #requireUser(id: string): UserJSON {
    const user = this.#users.get(id);
    if (!user) throw new ClerkSyncError("not_found", `No user ${id}`);
    return user;
  }

  #requireOrganization(idOrSlug: string): OrganizationJSON {
    const org = this.#organizations.get(idOrSlug) ?? this.#organizations.get(this.#slugs.get(idOrSlug) ?? "");
    if (!org) throw new ClerkSyncError("not_found", `No organization ${idOrSlug}`);
    return org;
  }

  #organizationAnswer(org: OrganizationJSON): OrganizationJSON {
    return organizationAnswer(clone(org), this.#membersCount.get(org.id) ?? 0);
  }

  #membershipAnswer(record: MembershipRecord): OrganizationMembershipJSON {
    const org = this.#organizations.get(record.organization_id);
    const orgAnswer = org
      ? this.#organizationAnswer(org)
      : ({ object: "organization", id: record.organization_id } as OrganizationJSON);
    return membershipAnswer(clone(record), orgAnswer, this.#users.get(record.user_id));
  }

  /** The users matching `filter`, in `order` (the sorted list is cached until the next change). */
  #filterUsers(filter: UserFilter, order: OrderBy): UserJSON[] {
    const cacheKey = `${order.descending ? "-" : "+"}${order.field}`;
    let sorted = this.#sortedUsers.get(cacheKey);
    if (!sorted) {
      sorted = sortBy(this.#users.values(), order, USER_SORT_KEYS[order.field] ?? USER_SORT_KEYS.created_at!);
      this.#sortedUsers.set(cacheKey, sorted);
    }
    const ids = filter.userIds && new Set(filter.userIds);
    const externalIds = filter.externalIds && new Set(filter.externalIds);
    const emails = filter.emailAddresses && new Set(filter.emailAddresses.map((e) => e.toLowerCase()));
    const { createdAfter, createdBefore } = filter;
    if (!ids && !externalIds && !emails && createdAfter === undefined && createdBefore === undefined) return sorted;
    return sorted.filter(
      (u) =>
        (createdAfter === undefined || u.created_at > createdAfter) &&
        (createdBefore === undefined || u.created_at < createdBefore) &&
        (!ids || ids.has(u.id)) &&
        (!externalIds || (u.external_id !== null && externalIds.has(u.external_id))) &&
        (!emails || u.email_addresses.some((e) => emails.has(e.email_address.toLowerCase()))),
    );
  }
}
