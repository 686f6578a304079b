// Backfill over real HTTP against the Backend API stand-in, into SQLite, PostgreSQL and MariaDB:
// the same tables as the equivalent webhooks, the version guard and tombstones against stored
// webhook rows, kill -9 of the CLI mid-run then a rerun, and 429s waited out.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BACKFILL_KINDS, type BackfillKind, backfill } from "../src/backfill/backfill.js";
import { createClerkApiClient } from "../src/clerk-api/client.js";
import { type ClerkApiStandIn, startClerkApiStandIn } from "../src/clerk-api/stand-in.js";
import { SyncEngine } from "../src/core/engine.js";
import { parseEvent } from "../src/core/validate.js";
import { openStore } from "../src/store/open.js";
import { syncStatus } from "../src/store/status.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { describeTarget, mysqlTarget, postgresTarget, type StoreTarget } from "./helpers/databases.js";
import { normalizedSnapshot } from "./helpers/tables.js";
import { useTempDirs } from "./helpers/tmp.js";

const CLI = join(import.meta.dirname, "..", "bin", "clerk-sync.js");
const tempDir = useTempDirs("backfill");

const WEBHOOK_TYPE: Record<BackfillKind, string> = {
  users: "user.created",
  organizations: "organization.created",
  memberships: "organizationMembership.created",
};

/** Every object the API lists, per kind, read with a client of its own (not the backfill's code path). */
async function listAll(standIn: ClerkApiStandIn): Promise<Record<BackfillKind, Record<string, unknown>[]>> {
  const client = createClerkApiClient({ apiUrl: standIn.url, secretKey: standIn.secretKey, rateLimit: false });
  const out: Record<BackfillKind, Record<string, unknown>[]> = { users: [], organizations: [], memberships: [] };
  for (let offset = 0; ; offset += 500) {
    const page = await client.listUsersPage({ limit: 500, offset });
    out.users.push(...(page as unknown as Record<string, unknown>[]));
    if (page.length < 500) break;
  }
  out.organizations = (await client.listOrganizationsPage({ limit: 500 })).data as unknown as Record<string, unknown>[];
  for (let offset = 0; ; offset += 500) {
    const page = await client.listMembershipsPage({ limit: 500, offset });
    out.memberships.push(...(page.data as unknown as Record<string, unknown>[]));
    if (page.data.length < 500) break;
  }
  return out;
}

/** The reference: a `*.created` webhook of each object's current state, through the sync engine. */
async function feedWebhooks(store: ClerkSyncStore, objects: Record<BackfillKind, Record<string, unknown>[]>) {
  const engine = new SyncEngine(store);
  let n = 0;
  for (const kind of BACKFILL_KINDS) {
    for (const data of objects[kind]) {
      const body = JSON.stringify({ object: "event", type: WEBHOOK_TYPE[kind], timestamp: data.updated_at, data });
      const { outcome } = await engine.process({ svixId: `msg_ref_${n++}`, rawBody: body, parsed: parseEvent(body) });
      expect(outcome).toBe("applied");
    }
  }
}

async function runRow(store: ClerkSyncStore, id?: string) {
  const rows = await store.db.selectFrom("clerk_sync_runs").selectAll().orderBy("started_at").execute();
  const row = id === undefined ? rows.at(-1) : rows.find((r) => r.id === id);
  if (row === undefined) return undefined;
  const json = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);
  return { ...row, counts: json(row.counts), cursor: json(row.cursor), all: rows };
}

function backfillSuite(target: StoreTarget): void {
  describeTarget(target, `backfill: ${target.name}`, () => {
    const opened: ClerkSyncStore[] = [];
    const standIns: ClerkApiStandIn[] = [];
    const fresh = async () => {
      const store = await target.fresh();
      opened.push(store);
      await store.migrate();
      return store;
    };
    const standIn = async (options: Parameters<typeof startClerkApiStandIn>[0]) => {
      const s = await startClerkApiStandIn(options);
      standIns.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of standIns.splice(0)) await s.close();
      for (const store of opened.splice(0)) await store.close();
    });

    it("writes the same tables as the equivalent webhooks, and a second run changes nothing", async () => {
      const clerk = await standIn({ users: 2600, organizations: 40, seed: 7, rateLimit: false });
      const client = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, rateLimit: false });
      const objects = await listAll(clerk);
      expect(objects.memberships.length).toBeGreaterThan(100);

      const mirror = await fresh();
      const pages: string[] = [];
      const first = await backfill({
        store: mirror,
        client,
        pageSize: 300,
        onProgress: (p) => pages.push(`${p.kind}:${p.pages}`),
      });
      expect(first.status).toBe("done");
      expect(first.resumed).toBe(false);
      for (const kind of BACKFILL_KINDS) {
        expect(first.counts[kind]).toEqual({ inserted: objects[kind].length, updated: 0, unchanged: 0, stale: 0 });
      }
      expect(pages).toContain("users:9"); // 2,600 users in pages of 300

      const reference = await fresh();
      await feedWebhooks(reference, objects);
      expect(await normalizedSnapshot(mirror)).toEqual(await normalizedSnapshot(reference));

      const run = await runRow(mirror, first.runId);
      expect(run).toMatchObject({ kind: "backfill", status: "done", objects: "users,organizations,memberships" });
      expect(run?.finished_at).toBeTypeOf("number");
      expect(run?.counts.users).toMatchObject({ inserted: 2600, total: 2600 });

      const second = await backfill({ store: mirror, client, pageSize: 500 });
      expect(second.runId).not.toBe(first.runId);
      for (const kind of BACKFILL_KINDS) {
        expect(second.counts[kind]).toEqual({ inserted: 0, updated: 0, unchanged: objects[kind].length, stale: 0 });
      }
      expect(await normalizedSnapshot(mirror)).toEqual(await normalizedSnapshot(reference));

      // Both runs show in status, newest first, with their counts.
      const report = await syncStatus(mirror.db);
      expect(report.runs.map((r) => [r.id, r.kind, r.status])).toEqual([
        [second.runId, "backfill", "done"],
        [first.runId, "backfill", "done"],
      ]);
      expect(report.runs[1]?.counts.users).toMatchObject({ inserted: 2600, unchanged: 0 });
    }, 180_000);

    it("never overwrites a newer webhook row, keeps a newer tombstone, and takes a newer snapshot", async () => {
      const clerk = await standIn({ users: 30, seed: 3, rateLimit: false });
      const client = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, rateLimit: false });
      const { users } = await listAll(clerk);
      const [newer, deleted, older] = users as [
        Record<string, unknown>,
        Record<string, unknown>,
        Record<string, unknown>,
      ];
      const at = (u: Record<string, unknown>) => u.updated_at as number;

      const mirror = await fresh();
      const engine = new SyncEngine(mirror);
      const deliver = async (svixId: string, event: Record<string, unknown>) => {
        const body = JSON.stringify(event);
        return (await engine.process({ svixId, rawBody: body, parsed: parseEvent(body) })).outcome;
      };
      // A webhook newer than the API's listing (the listing was taken before the change).
      const later = { ...newer, first_name: "FromWebhook", updated_at: at(newer) + 5_000 };
      expect(await deliver("msg_1", { object: "event", type: "user.updated", timestamp: at(later), data: later })).toBe(
        "applied",
      );
      // A deletion after the listing's state.
      expect(
        await deliver("msg_2", {
          object: "event",
          type: "user.deleted",
          timestamp: at(deleted) + 5_000,
          data: { object: "user", id: deleted.id, deleted: true },
        }),
      ).toBe("applied");
      // A webhook older than the listing: the snapshot replaces it.
      const earlier = { ...older, first_name: "Old", updated_at: at(older) - 5_000 };
      expect(
        await deliver("msg_3", { object: "event", type: "user.created", timestamp: at(earlier), data: earlier }),
      ).toBe("applied");

      const result = await backfill({ store: mirror, client, kinds: ["users"] });
      expect(result.counts.users).toEqual({ inserted: 27, updated: 1, unchanged: 0, stale: 2 });

      const rows = await mirror.db
        .selectFrom("clerk_users")
        .select(["id", "first_name", "version", "deleted_at"])
        .where("id", "in", [newer.id as string, deleted.id as string, older.id as string])
        .execute();
      const byId = new Map(rows.map((r) => [r.id, { ...r, version: Number(r.version) }]));
      expect(byId.get(newer.id as string)).toMatchObject({ first_name: "FromWebhook", version: at(later) });
      expect(byId.get(deleted.id as string)?.deleted_at).not.toBeNull();
      expect(byId.get(older.id as string)).toMatchObject({ first_name: older.first_name, version: at(older) });
      // Only the user deleted by a newer webhook is deleted.
      const live = await mirror.db
        .selectFrom("clerk_users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("deleted_at", "is", null)
        .executeTakeFirstOrThrow();
      expect(Number(live.n)).toBe(29);
    });

    it("resumes after kill -9 of the CLI mid-run: same tables, nothing twice, the run done", async () => {
      const clerk = await standIn({ users: 2000, organizations: 25, seed: 11, rateLimit: false });
      const mirror = await fresh();
      const url = target.url?.(mirror);
      if (url === undefined) throw new Error("no database URL for the CLI process");
      const env = { ...process.env, CLERK_API_URL: clerk.url, CLERK_SECRET_KEY: clerk.secretKey };
      const cwd = tempDir();
      const args = ["backfill", "--database-url", url, "--page-size", "100"];

      // Paced slowly (4 pages a second) so that the kill lands between pages.
      const slow = spawn(process.execPath, [CLI, ...args, "--rate-limit", "2", "--rate-window-ms", "500"], {
        cwd,
        env,
        stdio: "ignore",
      });
      try {
        let committed = 0;
        for (let i = 0; i < 2400 && committed < 300; i++) {
          await new Promise((r) => setTimeout(r, 50));
          const run = await runRow(mirror).catch(() => undefined);
          committed = run?.counts?.users?.inserted ?? 0;
        }
        expect(committed).toBeGreaterThanOrEqual(300);
      } finally {
        await kill9(slow);
      }
      const killed = await runRow(mirror);
      expect(killed?.status).toBe("running");
      const before = killed?.counts.users.inserted as number;
      expect(before).toBeLessThan(2000);
      const usersBefore = await mirror.db
        .selectFrom("clerk_users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      // The checkpoint and the rows commit together: exactly the counted users are there.
      expect(Number(usersBefore.n)).toBe(before);

      const rerun = await runCli([...args, "--rate-limit", "0", "--json"], { cwd, env });
      expect(rerun.code).toBe(0);
      const result = JSON.parse(rerun.stdout);
      expect(result).toMatchObject({ status: "done", resumed: true, runId: killed?.id });
      expect(result.counts.users.inserted).toBe(2000);

      const objects = await listAll(clerk);
      expect(result.counts.memberships.inserted).toBe(objects.memberships.length);
      const run = await runRow(mirror, killed?.id);
      expect(run?.status).toBe("done");
      expect(run?.all).toHaveLength(1);
      const reference = await fresh();
      await feedWebhooks(reference, objects);
      expect(await normalizedSnapshot(mirror)).toEqual(await normalizedSnapshot(reference));
    }, 180_000);
  });
}

function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

function runCli(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** SQLite files opened by URL, so that a CLI process can open the same database. */
function sqliteUrlTarget(): StoreTarget {
  const urls = new WeakMap<ClerkSyncStore, string>();
  return {
    name: "sqlite-file",
    fresh: async () => {
      const url = `file:${join(tempDir(), "mirror.db")}`;
      const store = await openStore(url);
      urls.set(store, url);
      return store;
    },
    sibling: async (store) => openStore(urls.get(store) as string),
    url: (store) => urls.get(store) as string,
  };
}

backfillSuite(sqliteUrlTarget());
backfillSuite(await postgresTarget());
backfillSuite(await mysqlTarget());

describe("backfill under the API's rate limit", () => {
  const standIns: ClerkApiStandIn[] = [];
  afterEach(async () => {
    for (const s of standIns.splice(0)) await s.close();
  });

  it("waits out every 429 (Retry-After) with no failed request, and paces itself to none", async () => {
    const clerk = await startClerkApiStandIn({ users: 700, seed: 5, rateLimit: { requests: 3, windowMs: 1000 } });
    standIns.push(clerk);
    const unpaced = createClerkApiClient({ apiUrl: clerk.url, secretKey: clerk.secretKey, rateLimit: false });
    const store = await openStore(`file:${join(tempDir(), "a.db")}`);
    try {
      await store.migrate();
      const result = await backfill({ store, client: unpaced, kinds: ["users"], pageSize: 100 });
      expect(result.counts.users?.inserted).toBe(700);
      const stats = clerk.stats();
      expect(stats.rateLimited).toBeGreaterThan(0);
      expect(result.rateLimited).toBe(stats.rateLimited);
      // Every request answered either 200 or 429 (waited out and sent again): none failed.
      expect(Object.keys(stats.byStatus).sort()).toEqual(["200", "429"]);
      expect(result.requests).toBe(stats.requests);

      // A client that paces itself under the same limit, on a stand-in whose window nobody else used.
      const fresh = await startClerkApiStandIn({ users: 700, seed: 5, rateLimit: { requests: 3, windowMs: 1000 } });
      standIns.push(fresh);
      const paced = createClerkApiClient({
        apiUrl: fresh.url,
        secretKey: fresh.secretKey,
        rateLimit: { requests: 3, windowMs: 1000 },
      });
      const again = await backfill({ store, client: paced, kinds: ["users"], pageSize: 100 });
      expect(again.counts.users).toEqual({ inserted: 0, updated: 0, unchanged: 700, stale: 0 });
      expect(fresh.stats().requests).toBeGreaterThan(3);
      expect(fresh.stats().rateLimited).toBe(0);
      expect(again.rateLimited).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe("clerk-sync backfill: Ctrl-C", () => {
  it("exits 130 after the page being written commits, and the rerun resumes", async () => {
    const clerk = await startClerkApiStandIn({ users: 1500, seed: 13, rateLimit: false });
    const cwd = tempDir();
    const url = `file:${join(cwd, "mirror.db")}`;
    const env = { ...process.env, CLERK_API_URL: clerk.url, CLERK_SECRET_KEY: clerk.secretKey };
    const args = ["backfill", "users", "--database-url", url, "--page-size", "100"];
    const store = await openStore(url);
    try {
      const child = spawn(process.execPath, [CLI, ...args, "--rate-limit", "2", "--rate-window-ms", "500"], {
        cwd,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      let committed = 0;
      for (let i = 0; i < 2400 && committed < 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const run = await runRow(store).catch(() => undefined);
        committed = run?.counts?.users?.inserted ?? 0;
      }
      child.kill("SIGINT");
      expect(await exited).toBe(130);
      expect(stdout).toContain("stopped");
      const stopped = await runRow(store);
      expect(stopped?.status).toBe("running");
      const rows = await store.db
        .selectFrom("clerk_users")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .executeTakeFirstOrThrow();
      expect(Number(rows.n)).toBe(stopped?.counts.users.inserted);
      expect(Number(rows.n)).toBeLessThan(1500);

      const rerun = await runCli([...args, "--rate-limit", "0", "--json"], { cwd, env });
      expect(rerun.code).toBe(0);
      expect(JSON.parse(rerun.stdout)).toMatchObject({ resumed: true, runId: stopped?.id, status: "done" });
      expect(JSON.parse(rerun.stdout).counts.users.inserted).toBe(1500);
    } finally {
      await store.close();
      await clerk.close();
    }
  }, 180_000);
});

describe("clerk-sync backfill: bad input", () => {
  it("answers a coded error and writes nothing", async () => {
    const { runCommand } = await import("../src/cli/main.js");
    const dir = tempDir();
    const url = `file:${join(dir, "a.db")}`;
    const run = async (args: string[]) => {
      let stderr = "";
      const code = await runCommand(["backfill", ...args], {
        cwd: dir,
        env: { CLERK_API_URL: "http://127.0.0.1:1", CLERK_SECRET_KEY: "sk_test_x" },
        stdout: () => undefined,
        stderr: (t) => {
          stderr += t;
        },
      });
      return { code, stderr };
    };
    for (const args of [["everything"], ["--page-size", "501"], ["--page-size", "ten"], ["users", "organizations"]]) {
      const { code, stderr } = await run([...args, "--database-url", url]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/^clerk-sync backfill: \[invalid_config\] /);
    }
    const noKey = await runCommand(["backfill", "--database-url", url], {
      cwd: dir,
      env: {},
      stdout: () => undefined,
      stderr: () => undefined,
    });
    expect(noKey).toBe(1);
    // Nothing was created: no run, not even the database file's tables.
    const store = await openStore(url);
    try {
      expect((await store.pendingMigrations()).length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
