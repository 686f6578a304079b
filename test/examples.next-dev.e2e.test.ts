/**
 * examples/nextjs under `next dev` (Turbopack), as a developer runs it: the webhook route applies
 * deliveries, and the SQLite checkpointer thread works there too. Under `next dev`, Turbopack
 * once rewrote the checkpointer's `require.resolve("better-sqlite3")` into an id of its own
 * (`[externals]/better-sqlite3 …`): the thread died with "SQLite checkpointer stopped" and the
 * -wal file grew until a restart, nothing ever copied into the database file.
 *
 * One `next dev` start (slow on a small machine: generous timeouts, no timing asserted). Needs
 * examples/nextjs installed (scripts/build-examples.sh); `next dev` writes to .next/dev, beside
 * the production build. Under CI a missing install fails; locally the test is skipped.
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshExample } from "../src/testing/fixtures.js";
import { ExampleApp, NEXT_DEV } from "./helpers/example-app.js";
import { makeTempDir } from "./helpers/service-process.js";

const CI = Boolean(process.env.CI);
const HOW_TO_BUILD = "run scripts/build-examples.sh (CI runs it before the tests)";
/** Deliveries sent: a WAL of several hundred KiB, every frame of it to be checkpointed. */
const DELIVERIES = 120;

/**
 * How many of `ids` the database file holds on its own, without its -wal: what checkpoints have
 * copied into it. Read from a copy of the file (opening the original without its WAL would
 * change nothing, but SQLite would read the WAL); a copy taken mid-checkpoint may not open: 0.
 */
function checkpointedCount(dbPath: string, ids: readonly string[]): number {
  const copy = join(makeTempDir("clerk-sync-next-dev-"), "copy.db");
  copyFileSync(dbPath, copy);
  try {
    const db = new Database(copy, { fileMustExist: true });
    try {
      const rows = db.prepare("select svix_id from clerk_webhook_events").all() as { svix_id: string }[];
      const inFile = new Set(rows.map((r) => r.svix_id));
      return ids.filter((id) => inFile.has(id)).length;
    } finally {
      db.close();
    }
  } catch {
    return 0; // no table yet, or a torn copy
  }
}

const missing = NEXT_DEV.missing();
if (missing && !CI) console.warn(`Skipping examples/nextjs under next dev: ${missing}; ${HOW_TO_BUILD}.`);

describe("examples/nextjs under next dev (Turbopack)", () => {
  if (missing) {
    it.skipIf(!CI)(`is installed (${missing}: ${HOW_TO_BUILD})`, () => {
      throw new Error(`${missing}: ${HOW_TO_BUILD}`);
    });
    return;
  }

  const app = new ExampleApp(NEXT_DEV);
  const sent: string[] = [];

  // The first request compiles the proxy and the route: minutes on a busy 2-core machine.
  beforeAll(() => app.start(300_000), 330_000);
  afterAll(() => app.stop());

  it("applies deliveries, and the checkpointer copies them into the database file", async () => {
    for (let i = 0; i < DELIVERIES; i++) {
      const reply = await app.send(freshExample("user.created"));
      expect([reply.status, reply.json?.status]).toEqual([200, "applied"]);
      sent.push(reply.id);
    }
    // The checkpointer runs every 200 ms on its own thread; wait (bounded) for it to catch up.
    // Without it nothing is copied (the store turns SQLite's automatic checkpoints off).
    const deadline = Date.now() + 120_000;
    let checkpointed = checkpointedCount(app.dbPath, sent);
    while (checkpointed < sent.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      checkpointed = checkpointedCount(app.dbPath, sent);
    }
    expect(checkpointed).toBe(sent.length);
  }, 240_000);

  it("logged no checkpointer or writer-thread failure, and no uncaught error", () => {
    expect(app.output).not.toMatch(/checkpointer stopped|writer thread stopped|\[externals\]/);
    expect(app.output).not.toMatch(/uncaughtException|unhandledRejection|TypeError|ReferenceError|ERR_[A-Z_]+/);
  });
});
