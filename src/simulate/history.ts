/**
 * The history `clerk-sync simulate` sends: Clerk events in the order Clerk made them, each with
 * its message id (`svix-id`) and its exact body. Generated from a seed (users, organizations,
 * memberships and sessions, created, updated and deleted) or read from a JSON file.
 */
import { readFileSync } from "node:fs";
import { generateData } from "../clerk-api/generate.js";
import { pick, type Random, randomInt, seededKsuid, seededRandom } from "../clerk-api/random.js";
import { membershipAnswer, roleDetails } from "../clerk-api/shapes.js";
import { ClerkSyncError } from "../core/errors.js";
import type { ClerkEventType, OrganizationJSON, UserJSON } from "../core/events.js";
import { loadExample } from "../testing/fixtures.js";

/** One message of a history: what Svix would deliver, attempt after attempt, under one id. */
export interface SimulatedMessage {
  /** The message id (`svix-id`), stable across attempts. */
  svixId: string;
  /** The event type (`user.created`, …). */
  type: string;
  /** `data.id` of the event. */
  objectId: string;
  /** The exact JSON body. */
  body: string;
}

/** Options of {@link generateHistory}. */
export interface HistoryOptions {
  /** Seed: the same seed and sizes give the same history, ids included (default 1). */
  seed?: number;
  /** How many users (default 50); organizations are a tenth of them, at least one. */
  users?: number;
}

interface Timed {
  at: number;
  type: ClerkEventType;
  data: Record<string, unknown>;
}

const INSTANCE = "ins_simulated";

/** A later time than `at`, within a day. */
const later = (random: Random, at: number) => at + randomInt(random, 1_000, 86_400_000);

function userEvents(random: Random, user: UserJSON, out: Timed[]): void {
  const created = { ...user, updated_at: user.created_at };
  out.push({ at: user.created_at, type: "user.created", data: created });
  let version = user.created_at;
  const updates = randomInt(random, 0, 2);
  for (let i = 0; i < updates; i++) {
    version = later(random, version);
    const data = {
      ...user,
      updated_at: version,
      first_name: `${user.first_name ?? "User"}${i + 1}`,
      public_metadata: { plan: pick(random, ["free", "pro", "team"]), step: i + 1 },
    };
    out.push({ at: version, type: "user.updated", data });
  }
  if (random() < 0.3) {
    const { user: _embedded, ...session } = loadExample("session.created").data;
    const id = `sess_${seededKsuid(random, version)}`;
    const start = later(random, user.created_at);
    const base = { ...session, id, user_id: user.id, last_active_organization_id: null };
    out.push({ at: start, type: "session.created", data: { ...base, created_at: start, updated_at: start } });
    const end = later(random, start);
    out.push({
      at: end,
      type: "session.ended",
      data: { ...base, status: "ended", created_at: start, updated_at: end, last_active_at: end },
    });
  }
  if (random() < 0.1) {
    const at = later(random, version);
    out.push({ at, type: "user.deleted", data: { object: "user", id: user.id, deleted: true } });
  }
}

function organizationEvents(random: Random, org: OrganizationJSON, out: Timed[]): void {
  out.push({ at: org.created_at, type: "organization.created", data: { ...org, updated_at: org.created_at } });
  let version = org.created_at;
  if (random() < 0.5) {
    version = later(random, version);
    out.push({
      at: version,
      type: "organization.updated",
      data: { ...org, name: `${org.name} (renamed)`, updated_at: version },
    });
  }
  if (random() < 0.05) {
    const at = later(random, version);
    out.push({ at, type: "organization.deleted", data: { object: "organization", id: org.id, deleted: true } });
  }
}

/**
 * A realistic history from a seed: every user created (some updated, some signing in and out,
 * some deleted), organizations created by users (some renamed, a few deleted), and memberships
 * (some promoted, some removed), in the order Clerk made the changes.
 *
 * @example
 * const history = generateHistory({ seed: 7, users: 100 });
 * history[0].type; // "user.created"
 */
export function generateHistory(options: HistoryOptions = {}): SimulatedMessage[] {
  const seed = options.seed ?? 1;
  const users = options.users ?? 50;
  const data = generateData({ seed, users, organizations: Math.max(1, Math.floor(users / 10)) });
  const random = seededRandom(seed ^ 0x5eed);
  const timed: Timed[] = [];
  for (const user of data.users) userEvents(random, user, timed);
  const orgs = new Map<string, OrganizationJSON>();
  for (const org of data.organizations) orgs.set(org.id, org);
  for (const org of data.organizations) organizationEvents(random, org, timed);
  const byId = new Map(data.users.map((u) => [u.id, u]));
  for (const record of data.memberships) {
    const org = orgs.get(record.organization_id) as OrganizationJSON;
    const user = byId.get(record.user_id);
    const created = membershipAnswer(record, org, user);
    timed.push({ at: record.created_at, type: "organizationMembership.created", data: { ...created } });
    let last: Record<string, unknown> = { ...created };
    if (random() < 0.2) {
      const version = later(random, record.created_at);
      const role = record.role === "org:admin" ? "org:member" : "org:admin";
      last = { ...created, role, ...roleDetails(role), updated_at: version };
      timed.push({ at: version, type: "organizationMembership.updated", data: last });
    }
    if (random() < 0.1) {
      // The deletion carries the membership as it last was (Clerk sends the full membership).
      const at = later(random, last.updated_at as number);
      timed.push({ at, type: "organizationMembership.deleted", data: { ...last } });
    }
  }
  // Clerk's order: by the time of each change (a stable sort keeps an object's own events in order).
  timed.sort((a, b) => a.at - b.at);
  return timed.map(({ at, type, data: eventData }) => {
    const event = { data: eventData, object: "event", type, timestamp: at, instance_id: INSTANCE };
    return {
      svixId: `msg_${seededKsuid(random, at)}`,
      type,
      objectId: String(eventData.id),
      body: JSON.stringify(event),
    };
  });
}

function badHistory(path: string, why: string, cause?: unknown): ClerkSyncError {
  return new ClerkSyncError("invalid_config", `--history ${path}: ${why}`, cause === undefined ? {} : { cause });
}

/**
 * A history from a JSON file: an array, in the order Clerk made the events, of Clerk event
 * envelopes (`{ "type", "data", "timestamp", … }`, each given a fresh message id) or of
 * `{ "svix_id": "msg_…", "event": { … } }` to keep one's own ids.
 *
 * @example
 * const history = readHistoryFile("history.json");
 */
export function readHistoryFile(path: string): SimulatedMessage[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw badHistory(path, "not a readable JSON file", cause);
  }
  if (!Array.isArray(value) || value.length === 0) throw badHistory(path, "expected a non-empty JSON array of events");
  const random = seededRandom(value.length);
  const seen = new Set<string>();
  return value.map((item: unknown, index) => {
    const entry = (item ?? {}) as Record<string, unknown>;
    const wrapped = typeof entry.event === "object" && entry.event !== null;
    const event = (wrapped ? entry.event : entry) as Record<string, unknown>;
    const data = event.data as Record<string, unknown> | undefined;
    if (typeof event.type !== "string" || typeof data !== "object" || data === null || Array.isArray(data)) {
      throw badHistory(path, `item ${index} is not a Clerk event (it needs "type" and an object "data")`);
    }
    const svixId =
      wrapped && typeof entry.svix_id === "string" ? entry.svix_id : `msg_${seededKsuid(random, Date.now())}`;
    if (seen.has(svixId)) throw badHistory(path, `item ${index} repeats svix_id ${svixId}`);
    seen.add(svixId);
    return { svixId, type: event.type, objectId: String(data.id ?? ""), body: JSON.stringify(event) };
  });
}
