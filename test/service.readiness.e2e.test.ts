/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process, real HTTP,
 * a real SQLite file. Assertions are on status codes and error codes, never on message text.
 *
 * This file: `/readyz` tells the truth about writes. The database lives on a small tmpfs of its
 * own (root only: `mount -t tmpfs`; skipped with the reason where it cannot be mounted, since root
 * ignores file modes and a chmod would prove nothing), which the test fills to make the disk full.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { fillDisk, mountSmallDisk } from "./helpers/chaos.js";
import { mysqlTarget, postgresTarget } from "./helpers/databases.js";
import { userEvent } from "./helpers/service-events.js";
import { makeTempDir, startServiceProcess } from "./helpers/service-process.js";

/** Whether `chattr +i` works here (root, a file system with the immutable flag), or why not. */
function immutableFiles(): true | string {
  if (process.getuid?.() !== 0) return "needs root for chattr +i";
  const probe = join(makeTempDir("clerk-sync-chattr-"), "probe");
  writeFileSync(probe, "");
  try {
    execFileSync("chattr", ["+i", probe], { stdio: "pipe" });
    execFileSync("chattr", ["-i", probe], { stdio: "pipe" });
    return true;
  } catch (error) {
    return `chattr +i failed: ${String(error).split("\n")[0]}`;
  }
}

const immutable = immutableFiles();
const locked = new Set<string>();
afterAll(() => {
  for (const path of locked) execFileSync("chattr", ["-i", path]);
});

const disk = mountSmallDisk();

/** A user event carrying `bytes` of metadata, so that its commit needs fresh pages on disk. */
function bigUserEvent(bytes: number) {
  const event = userEvent("user.created");
  (event.data as Record<string, unknown>).public_metadata = { blob: "x".repeat(bytes) };
  return event;
}

const why = "reason" in disk ? ` (skipped: ${disk.reason})` : "";

describe.skipIf("reason" in disk)(`/readyz and a full disk${why}`, () => {
  test("deliveries and /readyz answer 503 store_unavailable while SQLite cannot write, and both recover without a restart", async () => {
    if (!("dir" in disk)) return;
    const svc = await startServiceProcess({ cwd: disk.dir });
    expect((await svc.post(userEvent("user.created"))).status).toBe(200);
    expect((await svc.request("/readyz")).status).toBe(200);

    const filler = join(disk.dir, "filler");
    fillDisk(filler);
    const big = bigUserEvent(256 * 1024);
    const refused = await svc.post(big);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("store_unavailable");
    const notReady = await svc.request("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.code).toBe("store_unavailable");
    // Still not ready on the next look: the disk is still full.
    expect((await svc.request("/readyz")).status).toBe(503);
    // Svix retrying (here: five more deliveries) does not write a line per failure.
    for (let i = 0; i < 5; i++) expect((await svc.post(bigUserEvent(256 * 1024))).status).toBe(503);
    expect((await svc.request("/healthz")).status).toBe(200);

    rmSync(filler);
    // Ready again with no delivery in between (a load balancer may have stopped sending any).
    expect((await svc.request("/readyz")).status).toBe(200);
    const retried = await svc.post(big, { id: refused.id });
    expect(retried.status).toBe(200);
    expect((await svc.request("/readyz")).status).toBe(200);
    expect((await svc.stop()).code).toBe(0);

    const logs = svc.logs();
    expect(logs).toContainEqual(expect.objectContaining({ msg: "not ready", code: "store_unavailable" }));
    const failed = logs.filter((line) => line.msg === "delivery failed");
    const held = failed.reduce((n, line) => n + (typeof line.more_like_this === "number" ? line.more_like_this : 0), 0);
    const whole = failed.filter((line) => line.more_like_this === undefined);
    // Six failures: every one counted, most held back into a summary written at shutdown.
    expect(whole.length + held).toBe(6);
    expect(whole.length).toBeLessThan(6);
  });
});

// Root ignores file modes, so a chmod 0444 would prove nothing here: an immutable file (chattr +i)
// is what a read-only file is to any other user, even to root.
const whyNot = immutable === true ? "" : ` (skipped: ${immutable})`;

describe.skipIf(immutable !== true)(`/readyz and a read-only database file${whyNot}`, () => {
  test("a file that cannot be written at start: /readyz answers 503 before any delivery, deliveries 503; writable and restarted, both 200", async () => {
    const svc = await startServiceProcess();
    expect((await svc.post(userEvent("user.created"))).status).toBe(200);
    expect((await svc.stop()).code).toBe(0);

    execFileSync("chattr", ["+i", svc.dbPath]);
    locked.add(svc.dbPath);
    await svc.start(); // its migrations are applied already: nothing to write to start
    const notReady = await svc.request("/readyz");
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.code).toBe("store_unavailable");
    const event = userEvent("user.created");
    const refused = await svc.post(event);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe("store_unavailable");
    expect((await svc.request("/readyz")).status).toBe(503);
    expect((await svc.stop()).code).toBe(0);

    // SQLite opened the file read-only for good: the fix takes a restart (docs/troubleshooting.md).
    execFileSync("chattr", ["-i", svc.dbPath]);
    locked.delete(svc.dbPath);
    await svc.start();
    expect((await svc.request("/readyz")).status).toBe(200);
    expect((await svc.post(event, { id: refused.id })).status).toBe(200);
    expect(svc.event(refused.id)).toMatchObject({ status: "applied" });
    expect((await svc.stop()).code).toBe(0);
  });
});

const postgres = await postgresTarget();

describe.skipIf(postgres.unavailable !== undefined)(
  `/readyz on PostgreSQL without the right to write${postgres.unavailable ? ` (skipped: ${postgres.unavailable})` : ""}`,
  () => {
    test("a role that may read but not insert: /readyz 503 before any delivery, deliveries 503; GRANT INSERT, and both 200 without a restart", async () => {
      const store = await postgres.fresh();
      await store.migrate();
      const url = new URL(postgres.url?.(store) ?? "");
      await store.close();
      const schema = url.searchParams.get("schema") as string;
      const role = `clerk_sync_reader_${randomBytes(4).toString("hex")}`;
      const admin = new pg.Client({ connectionString: url.toString() });
      await admin.connect();
      try {
        await admin.query(`create role ${role} login`);
        await admin.query(`grant usage on schema "${schema}" to ${role}`);
        await admin.query(`grant select on all tables in schema "${schema}" to ${role}`);
        const asRole = new URL(url);
        asRole.username = role;
        asRole.password = "";
        const svc = await startServiceProcess({
          databaseFlag: false,
          args: ["--database-url", asRole.toString(), "--no-migrate"],
        });
        const notReady = await svc.request("/readyz");
        expect(notReady.status).toBe(503);
        expect(notReady.body.error.code).toBe("store_unavailable");
        const event = userEvent("user.created");
        const refused = await svc.post(event);
        expect(refused.status).toBe(503);

        await admin.query(`grant insert, update, delete on all tables in schema "${schema}" to ${role}`);
        expect((await svc.request("/readyz")).status).toBe(200);
        expect((await svc.post(event, { id: refused.id })).status).toBe(200);
        const { rows } = await admin.query(`select status from "${schema}".clerk_webhook_events where svix_id = $1`, [
          refused.id,
        ]);
        expect(rows).toEqual([{ status: "applied" }]);
        // The probes left nothing behind.
        const probes = await admin.query(
          `select count(*)::int as n from "${schema}".clerk_webhook_events where svix_id like 'clerk_sync_readiness_probe_%'`,
        );
        expect(probes.rows[0].n).toBe(0);
        expect((await svc.stop()).code).toBe(0);
      } finally {
        await admin.query(`drop owned by ${role}`).catch(() => undefined);
        await admin.query(`drop role if exists ${role}`).catch(() => undefined);
        await admin.end();
      }
    });
  },
);

const mariadb = await mysqlTarget();

describe.skipIf(mariadb.unavailable !== undefined)(
  `/readyz on MySQL/MariaDB without the right to write${mariadb.unavailable ? ` (skipped: ${mariadb.unavailable})` : ""}`,
  () => {
    test("a user that may read but not insert: /readyz 503, deliveries 503; GRANT INSERT, and both 200 without a restart", async () => {
      const store = await mariadb.fresh();
      await store.migrate();
      const url = new URL(mariadb.url?.(store) ?? "");
      await store.close();
      const database = url.pathname.slice(1);
      const user = `cs_reader_${randomBytes(4).toString("hex")}`;
      const admin = await mysql.createConnection({ uri: url.toString() });
      try {
        await admin.query(`create user '${user}'@'%'`);
        await admin.query(`grant select on \`${database}\`.* to '${user}'@'%'`);
        const asUser = new URL(url);
        asUser.username = user;
        asUser.password = "";
        const svc = await startServiceProcess({
          databaseFlag: false,
          args: ["--database-url", asUser.toString(), "--no-migrate"],
        });
        const notReady = await svc.request("/readyz");
        expect(notReady.status).toBe(503);
        expect(notReady.body.error.code).toBe("store_unavailable");
        const event = userEvent("user.created");
        const refused = await svc.post(event);
        expect(refused.status).toBe(503);

        // Table grants: MySQL applies a database-level grant (db.*) to a connection only at its next USE.
        const [tables] = await admin.query(
          "select table_name as name from information_schema.tables where table_schema = ?",
          [database],
        );
        for (const { name } of tables as { name: string }[]) {
          await admin.query(`grant insert, update, delete on \`${database}\`.\`${name}\` to '${user}'@'%'`);
        }
        expect((await svc.request("/readyz")).status).toBe(200);
        expect((await svc.post(event, { id: refused.id })).status).toBe(200);
        const [rows] = await admin.query(`select status from \`${database}\`.clerk_webhook_events where svix_id = ?`, [
          refused.id,
        ]);
        expect(rows).toEqual([{ status: "applied" }]);
        expect((await svc.stop()).code).toBe(0);
      } finally {
        await admin.query(`drop user if exists '${user}'@'%'`).catch(() => undefined);
        await admin.end();
      }
    });
  },
);
