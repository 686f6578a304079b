/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process, real HTTP,
 * a real SQLite file read back with SQL. Assertions are on status codes, error codes and reply
 * statuses, never on message text.
 *
 * This file: configuration reaching the process: CLERK_SYNC_MAX_BODY_BYTES, the event filter
 * (CLERK_SYNC_EVENTS / --events), and the development secret in .env.local shared with `send`
 * and `status`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { generateSecret } from "../src/server/env-files.js";
import { freshExample, newClerkId } from "../src/testing/fixtures.js";
import { type Event, expectNoSecretInStdout, userEvent } from "./helpers/service-events.js";
import { makeTempDir, runCli, startServiceProcess } from "./helpers/service-process.js";

describe.concurrent("clerk-sync serve (real process, real HTTP, real SQLite file)", () => {
  test("CLERK_SYNC_MAX_BODY_BYTES: a body of exactly the limit is applied, one byte more is 413 and not written", async () => {
    const limit = 4096;
    const svc = await startServiceProcess({ env: { CLERK_SYNC_MAX_BODY_BYTES: String(limit) } });
    // JSON allows trailing whitespace: pad each body to an exact size.
    const padded = (event: Event, size: number) => {
      const text = JSON.stringify(event);
      expect(Buffer.byteLength(text)).toBeLessThan(size);
      return text + " ".repeat(size - Buffer.byteLength(text));
    };
    const atLimit = userEvent("user.created");
    const ok = await svc.post(padded(atLimit, limit));
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe("applied");
    expect(svc.user(String(atLimit.data.id))).toBeDefined();
    const before = svc.counts();

    const over = userEvent("user.created");
    const tooLarge = await svc.post(padded(over, limit + 1));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe("payload_too_large");
    const chunked = svc.openPost(padded(over, limit + 1), { chunked: true });
    await chunked.write(chunked.bytes.subarray(0, 3000));
    chunked.end(chunked.bytes.subarray(3000));
    const chunkedReply = await chunked.reply;
    expect(chunkedReply.status).toBe(413);
    expect(chunkedReply.body.error.code).toBe("payload_too_large");

    expect(svc.counts()).toEqual(before);
    expect(svc.user(String(over.data.id))).toBeUndefined();
    expect((await svc.stop()).code).toBe(0);
    expectNoSecretInStdout(svc);
  });

  test("dev secret: created in .env.local, reused on restart; `send` and `status --json` work in that folder", async () => {
    const cwd = makeTempDir("clerk-sync-dev-");
    const svc = await startServiceProcess({ secret: null, cwd, databaseFlag: false });
    const envLocalPath = join(cwd, ".env.local");
    const envLocal = readFileSync(envLocalPath, "utf8");
    const secret = svc.envLocal().CLERK_WEBHOOK_SIGNING_SECRET ?? "";
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(statSync(envLocalPath).mode & 0o777).toBe(0o600);
    expect(svc.secret).toBe(secret);
    expect(svc.dbPath).toBe(join(cwd, "clerk-sync.db"));

    // A restart reads the secret back instead of making another.
    await svc.restart();
    expect(readFileSync(envLocalPath, "utf8")).toBe(envLocal);
    const direct = await svc.post(userEvent("user.created"), { secret });
    expect(direct.status).toBe(200);
    expect(direct.body.status).toBe("applied");

    const userId = newClerkId("user");
    const sent = await runCli(["send", "user.created", "--port", String(svc.port), "--id", userId], { cwd });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^200 /m);
    expect(svc.user(userId)).toMatchObject({ id: userId, deleted_at: null });
    expect(svc.emails(userId)).toHaveLength(1);
    expect(svc.get("SELECT status FROM clerk_webhook_events WHERE object_id = ?", userId)).toEqual({
      status: "applied",
    });

    const status = await runCli(["status", "--json"], { cwd });
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as {
      tables: { table: string; rows: number; deleted: number | null }[];
      deliveries: Record<string, number>;
      last: { svix_id: string; object_id: string | null; status: string }[];
    };
    expect(report.tables).toEqual(
      expect.arrayContaining([
        { table: "clerk_users", rows: 2, deleted: 0 },
        { table: "clerk_user_email_addresses", rows: 2, deleted: null },
      ]),
    );
    expect(report.deliveries).toMatchObject({ total: 2, applied: 2 });
    expect(report.last.map((d) => d.object_id)).toEqual(expect.arrayContaining([userId, direct.body.object_id]));

    expect(readFileSync(envLocalPath, "utf8")).toBe(envLocal);
    expect((await svc.stop()).code).toBe(0);
    expectNoSecretInStdout(svc, secret);
    for (const output of [sent.stdout, status.stdout]) expect(output).not.toContain(secret);
  });

  test("CLERK_SYNC_EVENTS=user.*: the user is mirrored, the organization recorded as ignored and not mirrored", async () => {
    const svc = await startServiceProcess({ env: { CLERK_SYNC_EVENTS: "user.*" } });
    const organization = freshExample("organization.created");
    const orgReply = await svc.post(organization);
    expect(orgReply.status).toBe(200);
    expect(orgReply.body.status).toBe("ignored");
    expect(svc.event(orgReply.id)).toMatchObject({ type: "organization.created", status: "ignored" });
    expect(svc.get("SELECT id FROM clerk_organizations WHERE id = ?", organization.data.id)).toBeUndefined();

    const user = userEvent("user.created");
    const userReply = await svc.post(user);
    expect(userReply.status).toBe(200);
    expect(userReply.body.status).toBe("applied");
    expect(svc.user(String(user.data.id))).toMatchObject({ id: user.data.id, deleted_at: null });
    expect((await svc.stop()).code).toBe(0);
  });

  test("--events wins over CLERK_SYNC_EVENTS", async () => {
    const svc = await startServiceProcess({
      env: { CLERK_SYNC_EVENTS: "user.*" },
      args: ["--events", "organization.*,session.created"],
    });
    const organization = freshExample("organization.created");
    expect((await svc.post(organization)).body.status).toBe("applied");
    expect(svc.get("SELECT id FROM clerk_organizations WHERE id = ?", organization.data.id)).toEqual({
      id: organization.data.id,
    });
    const user = userEvent("user.created");
    expect((await svc.post(user)).body.status).toBe("ignored");
    expect(svc.user(String(user.data.id))).toBeUndefined();
    expect((await svc.stop()).code).toBe(0);
  });

  test("a malformed CLERK_SYNC_EVENTS or --events stops the start with invalid_config, before the database is touched", async () => {
    for (const [env, args] of [
      [{ CLERK_SYNC_EVENTS: "user*" }, []],
      [{}, ["--events", "user.*,*.created"]],
    ] as const) {
      const cwd = makeTempDir();
      const started = await runCli(["serve", "--host", "127.0.0.1", "--port", "0", ...args], {
        cwd,
        env: { CLERK_WEBHOOK_SIGNING_SECRET: generateSecret(), ...env },
      });
      expect(started.code).toBe(1);
      expect(started.stderr).toContain("[invalid_config]");
      expect(started.stdout).not.toContain('"listening"');
      expect(readdirSync(cwd)).toEqual([]);
    }
  });
});
