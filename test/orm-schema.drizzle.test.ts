// The generated Drizzle schemas (test/generated/drizzle-*.ts, compiled by `npm run typecheck`)
// against the real tables: clerk-sync's migrations create them, signed-up users and their
// memberships arrive through the store, and typed Drizzle queries read them back on SQLite,
// PostgreSQL and MariaDB, one shape everywhere (JSON parsed, booleans, times as numbers).
import { join } from "node:path";
import Database from "better-sqlite3";
import { and, eq, isNull } from "drizzle-orm";
import { drizzle as drizzleSqlite } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzleMysql } from "drizzle-orm/mysql2";
import { drizzle as drizzlePostgres } from "drizzle-orm/node-postgres";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { parseEvent } from "../src/core/validate.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { signupScenario } from "../src/testing/scenario.js";
import * as mysqlSchema from "./generated/drizzle-mysql.js";
import * as postgresSchema from "./generated/drizzle-postgres.js";
import * as sqliteSchema from "./generated/drizzle-sqlite.js";
import { describeTarget, mysqlTarget, postgresTarget, type StoreTarget } from "./helpers/databases.js";
import { useTempDirs } from "./helpers/tmp.js";

/** The signup story (two users, an organization, memberships, the first user deleted) applied through the store. */
async function applySignup(store: ClerkSyncStore) {
  await store.migrate();
  const engine = new SyncEngine(store);
  const steps = signupScenario({ now: Date.UTC(2026, 0, 1) });
  let n = 0;
  for (const { event } of steps) {
    const rawBody = JSON.stringify(event);
    const { outcome } = await engine.process({ svixId: `msg_orm_${n++}`, rawBody, parsed: parseEvent(rawBody) });
    expect(outcome).toBe("applied");
  }
  const users = steps.filter((s) => s.type === "user.created").map((s) => s.event.data);
  const [owner, member] = users;
  return { ownerId: owner?.id as string, memberId: member?.id as string, memberEmail: "max.member@example.com" };
}

/** What the member's row, membership and organization must read back as, on every database. */
function expectMember(
  rows: readonly {
    user: {
      id: string;
      firstName: string | null;
      banned: boolean | null;
      createdAt: number | null;
      publicMetadata: unknown;
      data: unknown;
    };
    role: string | null;
    organization: string | null;
  }[],
  memberId: string,
) {
  expect(rows).toHaveLength(1);
  const [row] = rows;
  expect(row?.user).toMatchObject({ id: memberId, firstName: "Max", banned: false, publicMetadata: {} });
  expect(row?.user.publicMetadata).toEqual({});
  expect(row?.user.data).toMatchObject({ object: "user", id: memberId, first_name: "Max" });
  expect(typeof row?.user.createdAt).toBe("number");
  expect(row?.role).toBe("org:member");
  expect(row?.organization).toBe("Acme Corp");
}

describe("drizzle on SQLite (sqliteTable)", () => {
  const tempDir = useTempDirs("orm-drizzle");
  it("reads a user with their memberships and organizations through the generated schema", async () => {
    const filename = join(tempDir(), "app.db");
    const store = openSqliteStore({ filename });
    const sqlite = new Database(filename, { readonly: true });
    try {
      const { memberId, ownerId, memberEmail } = await applySignup(store);
      const db = drizzleSqlite(sqlite, { schema: sqliteSchema });
      const { clerkUsers, clerkOrganizationMemberships: m, clerkOrganizations: o } = sqliteSchema;
      const rows = await db
        .select({ user: clerkUsers, role: m.role, organization: o.name })
        .from(clerkUsers)
        .innerJoin(m, and(eq(m.userId, clerkUsers.id), isNull(m.deletedAt)))
        .leftJoin(o, eq(o.id, m.organizationId))
        .where(eq(clerkUsers.id, memberId));
      expectTypeOf(rows[0]!.user.banned).toEqualTypeOf<boolean | null>();
      expectTypeOf(rows[0]!.user.createdAt).toEqualTypeOf<number | null>();
      expectMember(rows, memberId);
      const e = sqliteSchema.clerkUserEmailAddresses;
      const byEmail = await db
        .select({ id: e.userId, isPrimary: e.isPrimary })
        .from(e)
        .where(eq(e.emailAddress, memberEmail));
      expect(byEmail).toEqual([{ id: memberId, isPrimary: true }]);
      const [owner] = await db.select().from(clerkUsers).where(eq(clerkUsers.id, ownerId));
      expect(typeof owner?.deletedAt).toBe("number");
    } finally {
      sqlite.close();
      await store.close();
    }
  });
});

/** A PostgreSQL pool on the schema `url`'s `?schema=` names, as an app would open it. */
function postgresPool(url: string): pg.Pool {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get("schema");
  parsed.searchParams.delete("schema");
  return new pg.Pool({ connectionString: parsed.toString(), options: `-c search_path=${schema}` });
}

const postgres = await postgresTarget();
describeTarget(postgres, "drizzle on PostgreSQL (pgTable)", () => {
  let store: ClerkSyncStore;
  let pool: pg.Pool;
  beforeAll(async () => {
    store = await postgres.fresh();
    pool = postgresPool((postgres as Required<StoreTarget>).url(store));
  });
  afterAll(async () => {
    await pool?.end();
    await store?.close();
  });

  it("reads a user with their memberships and organizations through the generated schema", async () => {
    const { memberId, ownerId, memberEmail } = await applySignup(store);
    // An app's own pool: pg hands bigint columns over as strings; the schema's mode "number" parses them.
    const db = drizzlePostgres(pool, { schema: postgresSchema });
    const { clerkUsers, clerkOrganizationMemberships: m, clerkOrganizations: o } = postgresSchema;
    const rows = await db
      .select({ user: clerkUsers, role: m.role, organization: o.name })
      .from(clerkUsers)
      .innerJoin(m, and(eq(m.userId, clerkUsers.id), isNull(m.deletedAt)))
      .leftJoin(o, eq(o.id, m.organizationId))
      .where(eq(clerkUsers.id, memberId));
    expectTypeOf(rows[0]!.user.createdAt).toEqualTypeOf<number | null>();
    expectMember(rows, memberId);
    const e = postgresSchema.clerkUserEmailAddresses;
    const byEmail = await db
      .select({ id: e.userId, isPrimary: e.isPrimary })
      .from(e)
      .where(eq(e.emailAddress, memberEmail));
    expect(byEmail).toEqual([{ id: memberId, isPrimary: true }]);
    const [owner] = await db.select().from(clerkUsers).where(eq(clerkUsers.id, ownerId));
    expect(typeof owner?.deletedAt).toBe("number");
  });
});

const mysqlServer = await mysqlTarget();
describeTarget(mysqlServer, "drizzle on MySQL / MariaDB (mysqlTable)", () => {
  let store: ClerkSyncStore;
  let pool: mysql.Pool;
  beforeAll(async () => {
    store = await mysqlServer.fresh();
    // JSON as text, as clerk-sync's own pool and MariaDB before 10.5 (no JSON type metadata) hand it
    // over: the generated `json` column must parse it (mysql2 parses MariaDB 10.5+'s and MySQL's).
    pool = mysql.createPool({
      uri: (mysqlServer as Required<StoreTarget>).url(store),
      connectionLimit: 2,
      jsonStrings: true,
    });
  });
  afterAll(async () => {
    await pool?.end();
    await store?.close();
  });

  it("reads a user with their memberships and organizations through the generated schema", async () => {
    const { memberId, ownerId, memberEmail } = await applySignup(store);
    const db = drizzleMysql(pool, { schema: mysqlSchema, mode: "default" });
    const { clerkUsers, clerkOrganizationMemberships: m, clerkOrganizations: o } = mysqlSchema;
    const rows = await db
      .select({ user: clerkUsers, role: m.role, organization: o.name })
      .from(clerkUsers)
      .innerJoin(m, and(eq(m.userId, clerkUsers.id), isNull(m.deletedAt)))
      .leftJoin(o, eq(o.id, m.organizationId))
      .where(eq(clerkUsers.id, memberId));
    expectTypeOf(rows[0]!.user.publicMetadata).toEqualTypeOf<unknown>();
    expectMember(rows, memberId);
    const e = mysqlSchema.clerkUserEmailAddresses;
    const byEmail = await db
      .select({ id: e.userId, isPrimary: e.isPrimary })
      .from(e)
      .where(eq(e.emailAddress, memberEmail));
    expect(byEmail).toEqual([{ id: memberId, isPrimary: true }]);
    const [owner] = await db.select().from(clerkUsers).where(eq(clerkUsers.id, ownerId));
    expect(typeof owner?.deletedAt).toBe("number");
  });
});
