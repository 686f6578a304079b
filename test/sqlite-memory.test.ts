/**
 * What the SQLite store holds in memory: a bounded page cache per connection, and a writer thread
 * that ends after an idle spell (handing its heap, page cache and mapped pages back) and is
 * started again by the next batch. See docs/performance.md, "Memory".
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { describe, expect, it, vi } from "vitest";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { userPlan } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

/**
 * Memory maps of `file` in this process: one per connection that has read the database through
 * its map (`mmap_size`). File descriptors would not do: SQLite keeps a closed connection's
 * descriptor open while another connection of the process holds a lock on the file.
 */
function mappings(file: string): number {
  return readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .filter((line) => line.endsWith(` ${file}`)).length;
}

describe("SQLite store memory", () => {
  const tempDir = useTempDirs("sqlite-memory");

  it("bounds each connection's page cache to 8 MiB", async () => {
    const store = openSqliteStore({ filename: join(tempDir(), "cache.db") });
    try {
      const { rows } = await sql<{ cache_size: number }>`pragma cache_size`.execute(store.db);
      const size = rows[0]?.cache_size as number;
      // Negative: KiB; positive: pages (of 2 KiB).
      const kib = size < 0 ? -size : size * 2;
      expect(kib).toBeGreaterThan(0);
      expect(kib).toBeLessThanOrEqual(8192);
    } finally {
      await store.close();
    }
  });

  it.skipIf(process.platform !== "linux")(
    "the writer thread closes its connection after an idle spell; the next batch starts a new one",
    async () => {
      const filename = join(tempDir(), "idle.db");
      const store = openSqliteStore({ filename, writerIdleMs: 20 });
      try {
        await store.migrate();
        // The store's own connection has read the file (migrations); the writer thread starts on
        // the first batch.
        const withoutThread = mappings(filename);
        for (const id of ["user_idle_1", "user_idle_2"]) {
          const results = await store.applyPlans([userPlan(id)]);
          expect(results.map((r) => (r.ok ? r.value : r.error))).toEqual(["applied"]);
          // Still in the turn that answered the batch: the idle timer cannot have fired yet.
          expect(mappings(filename)).toBe(withoutThread + 1);
          // Idle: the thread's connection closes, its map goes (and the thread ends).
          await vi.waitFor(() => expect(mappings(filename)).toBe(withoutThread), {
            timeout: 10_000,
            interval: 10,
          });
        }
        const { rows } = await sql<{ id: string }>`select id from clerk_users order by id`.execute(store.db);
        expect(rows.map((r) => r.id)).toEqual(["user_idle_1", "user_idle_2"]);
      } finally {
        await store.close();
      }
    },
  );
});
