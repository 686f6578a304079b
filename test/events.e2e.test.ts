import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLERK_EVENT_TYPES, type ClerkEventType } from "../src/core/events.js";
import { ENTITY_TABLES, type EntityTableName } from "../src/core/schema.js";
import { resolveConfig } from "../src/server/config.js";
import { type RunningService, startService } from "../src/server/service.js";
import { FIXTURES_DIR } from "../src/testing/fixtures.js";
import { signDelivery } from "../src/testing/sign.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("events");

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
type Row = Record<string, unknown>;
type Data = Record<string, unknown>;

/** Where each kind lands, and the columns not copied by name from the payload. */
const TARGET: Record<string, { table: EntityTableName | null; computed?: (data: Data, kind: string) => Data }> = {
  user: {
    table: "clerk_users",
    computed: (d) => ({
      primary_email_address:
        (d.email_addresses as { id: string; email_address: string }[]).find((e) => e.id === d.primary_email_address_id)
          ?.email_address ?? null,
      primary_phone_number: null,
    }),
  },
  organization: { table: "clerk_organizations" },
  organizationMembership: {
    table: "clerk_organization_memberships",
    computed: (d) => ({
      organization_id: (d.organization as Data).id,
      user_id: (d.public_user_data as Data).user_id,
    }),
  },
  organizationInvitation: { table: "clerk_organization_invitations" },
  organizationDomain: { table: "clerk_organization_domains" },
  session: { table: "clerk_sessions" },
  role: { table: "clerk_roles" },
  permission: { table: "clerk_permissions" },
  waitlistEntry: { table: "clerk_waitlist_entries" },
  subscription: { table: "clerk_objects", computed: (_d, kind) => ({ object_type: kind }) },
  subscriptionItem: { table: "clerk_objects", computed: (_d, kind) => ({ object_type: kind }) },
  paymentAttempt: { table: "clerk_objects", computed: (_d, kind) => ({ object_type: kind }) },
  email: { table: null },
  sms: { table: null },
};

const MIRRORED = Object.keys(ENTITY_TABLES) as EntityTableName[];

function columnValue(type: string, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === "json") return JSON.parse(value as string);
  if (type === "bool") return Boolean(value);
  return value;
}

describe("every Clerk event type through the real HTTP service", () => {
  const dir = tempDir();
  const services: RunningService[] = [];

  async function deliver(type: ClerkEventType): Promise<{ reply: Row; db: Database.Database; fixture: Row }> {
    const dbPath = join(dir, `${type}.db`);
    const config = resolveConfig({}, { secret: [secret], databaseUrl: `file:${dbPath}`, port: "0", host: "127.0.0.1" });
    const service = await startService(config);
    services.push(service);
    const body = readFileSync(join(FIXTURES_DIR, `${type}.json`), "utf8");
    const signed = signDelivery({ secret, payload: body });
    const response = await fetch(`${service.url}/api/webhooks`, { method: "POST", headers: signed.headers, body });
    expect(response.status).toBe(200);
    return {
      reply: (await response.json()) as Row,
      db: new Database(dbPath, { readonly: true }),
      fixture: JSON.parse(body),
    };
  }

  beforeAll(() => {
    expect(CLERK_EVENT_TYPES).toHaveLength(45);
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
  });

  it.each(CLERK_EVENT_TYPES.map((t) => [t]))("%s", async (type) => {
    const { reply, db, fixture } = await deliver(type);
    try {
      const data = fixture.data as Data;
      const kind = type.slice(0, type.indexOf("."));
      const target = TARGET[kind];
      expect(target).toBeDefined();
      const event = db.prepare("select * from clerk_webhook_events").get() as Row;
      expect(event).toMatchObject({ type, object_id: data.id, delivery_count: 1 });
      expect(event.payload).toBe(readFileSync(join(FIXTURES_DIR, `${type}.json`), "utf8"));
      const counts = Object.fromEntries(
        MIRRORED.map((t) => [t, (db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n]),
      );

      if (!target?.table) {
        expect(reply.status).toBe("ignored");
        expect(event.status).toBe("ignored");
        expect(Object.values(counts).every((n) => n === 0)).toBe(true);
        return;
      }
      expect(reply.status).toBe("applied");
      expect(event.status).toBe("applied");
      expect(counts[target.table]).toBe(1);
      expect(Object.entries(counts).filter(([t, n]) => t !== target.table && n > 0)).toEqual([]);
      const row = db.prepare(`select * from ${target.table} where id = ?`).get(data.id) as Row;

      if (type.endsWith(".deleted")) {
        const ms = (fixture.timestamp as number) < 1e12 ? (fixture.timestamp as number) * 1000 : fixture.timestamp;
        expect(row.deleted_at).toBe(ms);
        if (type !== "organizationMembership.deleted") {
          expect(row.version).toBe(0); // a bare tombstone: the object was never seen
          return;
        }
      } else {
        expect(row.deleted_at).toBeNull();
      }
      expect(row.version).toBe(data.updated_at);
      const computed = target.computed?.(data, kind) ?? {};
      for (const [column, columnType] of Object.entries(ENTITY_TABLES[target.table].columns)) {
        const expected = column in computed ? computed[column] : column === "data" ? data : (data[column] ?? null);
        expect([column, columnValue(columnType, row[column])]).toEqual([column, expected]);
      }
      if (target.table === "clerk_users") {
        const emails = db.prepare("select * from clerk_user_email_addresses").all();
        expect(emails).toHaveLength((data.email_addresses as unknown[]).length);
      }
    } finally {
      db.close();
    }
  });

  it("the docs' user.created example (primary email set) fills the email tables", async () => {
    const dbPath = join(dir, "overview.db");
    const config = resolveConfig({}, { secret: [secret], databaseUrl: `file:${dbPath}`, port: "0", host: "127.0.0.1" });
    const service = await startService(config);
    services.push(service);
    const body = readFileSync(join(FIXTURES_DIR, "clerk-docs-overview", "user.created.json"), "utf8");
    const signed = signDelivery({ secret, payload: body });
    const response = await fetch(`${service.url}/api/webhooks`, { method: "POST", headers: signed.headers, body });
    expect(response.status).toBe(200);
    const db = new Database(dbPath, { readonly: true });
    try {
      expect(db.prepare("select id, primary_email_address, external_id from clerk_users").get()).toEqual({
        id: "user_29w83sxmDNGwOuEthce5gg56FcC",
        primary_email_address: "example@example.org",
        external_id: "567772",
      });
      expect(db.prepare("select * from clerk_user_email_addresses").all()).toEqual([
        {
          id: "idn_29w83yL7CwVlJXylYLxcslromF1",
          user_id: "user_29w83sxmDNGwOuEthce5gg56FcC",
          email_address: "example@example.org",
          verification_status: "verified",
          is_primary: 1,
        },
      ]);
    } finally {
      db.close();
    }
  });
});
