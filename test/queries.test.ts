import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { parseEvent } from "../src/core/validate.js";
import { findUserByEmail, findUserById, listOrganizationMembers, listUserOrganizations } from "../src/store/queries.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { type ScenarioEvent, signupScenario } from "../src/testing/scenario.js";

describe("queries over the mirrored tables", () => {
  let store: ClerkSyncStore;
  let steps: ScenarioEvent[];
  const idOf = (type: string, nth = 0) => steps.filter((s) => s.type === type)[nth]?.event.data.id as string;

  beforeEach(async () => {
    store = openSqliteStore({ filename: ":memory:" });
    await store.migrate();
    const engine = new SyncEngine(store);
    steps = signupScenario({ now: 1_800_000_000_000 });
    for (const [i, step] of steps.entries()) {
      const body = JSON.stringify(step.event);
      await engine.process({ svixId: `msg_${i}`, rawBody: body, parsed: parseEvent(body) });
    }
  });
  afterEach(async () => {
    await store.close();
  });

  it("finds a user by id, excluding deleted users unless asked", async () => {
    const owner = idOf("user.created", 0);
    const member = idOf("user.created", 1);
    const found = await findUserById(store, member);
    expect(found).toMatchObject({ id: member, first_name: "Max", deleted_at: null, banned: false, locked: false });
    expect(found?.public_metadata).toEqual({});
    expect(await findUserById(store, owner)).toBeUndefined();
    expect(await findUserById(store, owner, { includeDeleted: true })).toMatchObject({
      id: owner,
      first_name: "Olivia",
    });
    expect(await findUserById(store, "user_nobody")).toBeUndefined();
  });

  it("finds a user by any email address, case-insensitively", async () => {
    const member = idOf("user.created", 1);
    expect((await findUserByEmail(store, "Max.Member@Example.com "))?.id).toBe(member);
    expect(await findUserByEmail(store, "nobody@example.com")).toBeUndefined();
  });

  it("lists an organization's members with their users, excluding deleted memberships", async () => {
    const org = idOf("organization.created");
    const members = await listOrganizationMembers(store, org);
    expect(members.map((m) => [m.membership.role, m.user?.first_name])).toEqual([["org:member", "Max"]]);
    const all = await listOrganizationMembers(store, org, { includeDeleted: true });
    expect(all.map((m) => [m.membership.role, m.user?.first_name, m.membership.deleted_at !== null])).toEqual([
      ["org:admin", "Olivia", true],
      ["org:member", "Max", false],
    ]);
    expect(members[0]?.membership.permissions).toEqual(expect.any(Array));
  });

  it("lists a user's organizations with the role in each", async () => {
    const member = idOf("user.created", 1);
    const orgs = await listUserOrganizations(store, member);
    expect(orgs.map((o) => [o.organization?.name, o.membership.role])).toEqual([["Acme Corp", "org:member"]]);
    expect(await listUserOrganizations(store, idOf("user.created", 0))).toEqual([]);
  });
});
