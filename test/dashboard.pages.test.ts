/**
 * Every dashboard page on each database (SQLite file, PostgreSQL, MariaDB), the same checks for
 * each: what the pages show must not depend on how a dialect returns JSON, booleans or bigints.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { insertRun } from "../src/store/runs.js";
import {
  type DashboardApp,
  type HttpSession,
  type Seeded,
  seed,
  signIn,
  startDashboardApp,
} from "./helpers/dashboard-app.js";
import {
  describeTarget,
  mysqlTarget,
  postgresTarget,
  type StoreTarget,
  sqliteFileTarget,
} from "./helpers/databases.js";

function describePages(target: StoreTarget): void {
  describeTarget(target, `dashboard pages on ${target.name}`, () => {
    let app: DashboardApp;
    let session: HttpSession;
    let seeded: Seeded;
    beforeAll(async () => {
      app = await startDashboardApp(await target.fresh());
      seeded = await seed(app);
      await insertRun(app.store.db, { kind: "reconcile", objects: "users", at: Date.now() });
      session = await signIn(app);
    });
    afterAll(() => app?.close());

    it("renders each page with the seeded rows", async () => {
      const expectations: [string, string[]][] = [
        ["", ["<b>3</b><span>deliveries, last hour</span>", "apply latency p50"]],
        ["/deliveries", [seeded.userDelivery, "organizationMembership.created"]],
        [`/deliveries?object_id=${seeded.userId}&status=applied`, [seeded.userDelivery]],
        [
          `/deliveries/${seeded.userDelivery}`,
          ["<td>webhook</td>", `<b>clerk_users</b> <code>${seeded.userId}</code>`],
        ],
        [`/users?q=${encodeURIComponent(seeded.email)}`, [`/dashboard/users/${seeded.userId}`]],
        [`/users/${seeded.userId}`, [seeded.email, "<td>yes</td>", `/dashboard/organizations/${seeded.orgId}`]],
        [`/organizations?q=${seeded.slug}`, [`/dashboard/organizations/${seeded.orgId}`]],
        [`/organizations/${seeded.orgId}`, ["Members (1)"]],
        ["/runs", ["reconcile", 'class="badge running"']],
      ];
      for (const [path, needles] of expectations) {
        const { status, text } = await session.get(path);
        expect({ path, status }).toEqual({ path, status: 200 });
        for (const needle of needles)
          expect({ path, found: text.includes(needle), needle }).toMatchObject({ found: true });
        expect(text).not.toMatch(/<script/i);
      }
    });
  });
}

describePages(sqliteFileTarget());
describePages(await postgresTarget());
describePages(await mysqlTarget());
