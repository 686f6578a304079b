/**
 * Generated data for the stand-in: users with one to three email addresses (the primary one not
 * always the first), organizations created by users, and memberships, spread over time with a
 * few equal `created_at` values (as a bulk import leaves them). The same seed gives the same data.
 */
import type { OrganizationJSON, UserJSON } from "../core/events.js";
import { pick, type Random, randomInt, seededKsuid, seededRandom } from "./random.js";
import { emailAddressJSON, type MembershipRecord, organizationJSON, roleDetails, userJSON } from "./shapes.js";

/** Options of `generateData`. */
export interface GenerateOptions {
  /** Seed of the generator (default 1). */
  seed?: number;
  /** How many users (default 0). */
  users?: number;
  /** How many organizations (default 0; needs at least one user). */
  organizations?: number;
  /** Earliest `created_at`, epoch ms (default 2022-01-01). */
  from?: number;
  /** Latest `created_at` / `updated_at`, epoch ms (default 2025-01-01). */
  to?: number;
}

/** Generated records, ready to load into the stand-in. */
export interface GeneratedData {
  users: UserJSON[];
  organizations: OrganizationJSON[];
  memberships: MembershipRecord[];
}

export const DEFAULT_FROM = Date.UTC(2022, 0, 1);
export const DEFAULT_TO = Date.UTC(2025, 0, 1);

const FIRST =
  "Ada Ben Chloe Dmitri Elena Farah Gus Hana Ivan Jade Kofi Lena Mateo Nia Omar Priya Quinn Rosa Sven Tara Umar Vera Wen Xavier Yara Zoe".split(
    " ",
  );
const LAST =
  "Abara Becker Costa Dubois Eriksen Fischer Garcia Hughes Ito Jensen Kowalski Lopez Moreau Nakamura Okafor Petrov Quispe Rossi Singh Tanaka Usman Varga".split(
    " ",
  );
const DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"];
const ORG_WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Soylent"];
const ORG_KINDS = ["Labs", "Corp", "Studio", "Works", "Partners", "Group", "Systems", "Collective"];

/** Creation times from `from` to about `to` in increasing order, with about 3% equal to the previous one. */
function spreadTimes(random: Random, count: number, from: number, to: number): number[] {
  const gaps: number[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const gap = i > 0 && random() < 0.03 ? 0 : -Math.log(1 - random());
    gaps.push(gap);
    total += gap;
  }
  const scale = total > 0 ? (to - from) / total : 0;
  const times: number[] = [];
  let at = from;
  for (const gap of gaps) {
    at += gap * scale;
    times.push(Math.min(to, Math.floor(at)));
  }
  return times;
}

/** A later time between `at` and `to`, or `at` itself half of the time. */
function laterOrSame(random: Random, at: number, to: number): number {
  return random() < 0.5 ? at : randomInt(random, at, Math.max(at, to));
}

function generateUser(random: Random, index: number, createdAt: number, to: number): UserJSON {
  const first = pick(random, FIRST);
  const last = pick(random, LAST);
  const updatedAt = laterOrSame(random, createdAt, to);
  const count = randomInt(random, 1, 3);
  const emails = Array.from({ length: count }, (_, k) =>
    emailAddressJSON(
      `idn_${seededKsuid(random, createdAt)}`,
      `${first}.${last}${k === 0 ? "" : `+${k}`}.${index}@${pick(random, DOMAINS)}`.toLowerCase(),
      createdAt,
    ),
  );
  const primary = emails[randomInt(random, 0, count - 1)]!;
  const signedIn = random() < 0.8 ? randomInt(random, createdAt, updatedAt) : null;
  return userJSON({
    id: `user_${seededKsuid(random, createdAt)}`,
    first_name: first,
    last_name: last,
    username: random() < 0.2 ? `${first}${index}`.toLowerCase() : null,
    external_id: random() < 0.1 ? `ext_${index}` : null,
    email_addresses: emails,
    primary_email_address_id: primary.id,
    public_metadata: random() < 0.3 ? { plan: pick(random, ["free", "pro", "team"]) } : {},
    private_metadata: {},
    unsafe_metadata: {},
    created_at: createdAt,
    updated_at: updatedAt,
    last_sign_in_at: signedIn,
    last_active_at: signedIn,
  });
}

/**
 * Users, organizations and memberships generated from a seed: the same options give the same
 * data, ids included, whatever the clock says.
 *
 * @example
 * const { users } = generateData({ seed: 7, users: 100, organizations: 5 });
 */
export function generateData(options: GenerateOptions = {}): GeneratedData {
  const random = seededRandom(options.seed ?? 1);
  const from = options.from ?? DEFAULT_FROM;
  const to = options.to ?? DEFAULT_TO;
  const userCount = options.users ?? 0;
  const users = spreadTimes(random, userCount, from, to).map((at, i) => generateUser(random, i, at, to));

  const organizations: OrganizationJSON[] = [];
  const memberships: MembershipRecord[] = [];
  const orgCount = users.length === 0 ? 0 : (options.organizations ?? 0);
  for (let i = 0; i < orgCount; i++) {
    const creator = pick(random, users);
    const createdAt = randomInt(random, creator.created_at, to);
    const name = `${pick(random, ORG_WORDS)} ${pick(random, ORG_KINDS)} ${i + 1}`;
    const org = organizationJSON({
      id: `org_${seededKsuid(random, createdAt)}`,
      name,
      slug: name.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
      created_by: creator.id,
      public_metadata: {},
      private_metadata: {},
      created_at: createdAt,
      updated_at: laterOrSame(random, createdAt, to),
    });
    organizations.push(org);
    const members = new Set([creator.id]);
    const add = (user: UserJSON, role: string, at: number) => {
      members.add(user.id);
      memberships.push({
        id: `orgmem_${seededKsuid(random, at)}`,
        organization_id: org.id,
        user_id: user.id,
        role,
        ...roleDetails(role),
        public_metadata: {},
        private_metadata: {},
        created_at: at,
        updated_at: at,
      });
    };
    add(creator, "org:admin", createdAt);
    const extra = randomInt(random, 0, Math.min(9, users.length - 1));
    for (let k = 0; k < extra; k++) {
      const user = pick(random, users);
      if (members.has(user.id)) continue;
      const at = randomInt(random, Math.max(createdAt, user.created_at), Math.max(createdAt, user.created_at, to));
      add(user, random() < 0.1 ? "org:admin" : "org:member", at);
    }
  }
  return { users, organizations, memberships };
}
