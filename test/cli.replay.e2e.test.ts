/**
 * `clerk-sync replay` as a real process on the built CLI (`npm run -s build` first), against a
 * SQLite file holding failed deliveries (a hook that threw): the data path replays them.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { parseEvent } from "../src/core/validate.js";
import { getDelivery } from "../src/store/delivery-log.js";
import { findUserById } from "../src/store/queries.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { userData, userEvent } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "..", "bin", "clerk-sync.js");
const tempDir = useTempDirs("cli-replay");

describe("clerk-sync replay (the built CLI)", () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, "replay", ...args], { cwd: dir, env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const open = () => openSqliteStore({ filename: join(dir, "app.db") });

  beforeAll(async () => {
    dir = tempDir();
    env = { PATH: process.env.PATH, DATABASE_URL: `file:${join(dir, "app.db")}` };
    const store = open();
    await store.migrate();
    const engine = new SyncEngine(store, { now: () => 1_800_000_000_000 });
    engine.on("user.created", async () => {
      throw new Error("a bug in the hook");
    });
    for (const id of ["user_a", "user_b"]) {
      const rawBody = JSON.stringify(userEvent("user.created", userData(id, 1_000)));
      await engine.process({ svixId: `msg_${id}`, rawBody, parsed: parseEvent(rawBody) }).catch(() => undefined);
    }
    await store.close();
  });

  it("dry-runs, replays by id and by status, and codes unknown ids and bad filters", async () => {
    const dry = await cli("--status", "failed", "--dry-run", "--json");
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout).counts).toEqual({ "would-replay": 2 });

    const one = await cli("msg_user_a", "msg_nope");
    expect(one.code).toBe(1);
    expect(one.stdout).toContain("msg_user_a");
    expect(one.stdout).toContain("[unknown_delivery]");

    const rest = await cli("--status", "failed", "--since", "2020-01-01T00:00:00Z", "--json");
    expect(rest.code).toBe(0);
    expect(
      JSON.parse(rest.stdout).items.map((i: { svixId: string; outcome: string }) => [i.svixId, i.outcome]),
    ).toEqual([["msg_user_b", "applied"]]);

    const again = await cli("msg_user_a", "--json");
    expect(JSON.parse(again.stdout).counts).toEqual({ duplicate: 1 });

    const bad = await cli("--status", "done");
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining("[invalid_filter]")]);
    const none = await cli();
    expect([none.code, none.stderr]).toEqual([1, expect.stringContaining("[invalid_filter]")]);

    const store = open();
    try {
      expect((await findUserById(store, "user_a"))?.id).toBe("user_a");
      expect((await findUserById(store, "user_b"))?.id).toBe("user_b");
      const a = await getDelivery(store, "msg_user_a");
      expect(a?.status).toBe("applied");
      expect(a?.attempts.map((t) => [t.attempt, t.source, t.outcome])).toEqual([
        [3, "replay", "duplicate"],
        [2, "replay", "applied"],
        [1, "webhook", "failed"],
      ]);
    } finally {
      await store.close();
    }
  });
});
