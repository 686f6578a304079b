/**
 * The delivery log's contract, run by every dialect (test/delivery-log.*.test.ts): attempts
 * recorded for each outcome on every write path (plans set-based on PostgreSQL and MySQL, jobs
 * with hooks), bounded per delivery; the list's filters and keyset pages; replay by id, by
 * status and by time range through the same engine (never over newer data, a no-op unless
 * forced); retention pruning while deliveries keep arriving; the rejections log bounded.
 */
import type { Kysely } from "kysely";
import { afterAll, beforeEach, expect, it } from "vitest";
import { SyncEngine } from "../../src/core/engine.js";
import { ClerkSyncError, isClerkSyncError } from "../../src/core/errors.js";
import { rejectionRecord } from "../../src/core/rejections.js";
import { parseEvent } from "../../src/core/validate.js";
import { replayDeliveries } from "../../src/replay/replay.js";
import { getDelivery, listDeliveries, listRejections } from "../../src/store/delivery-log.js";
import { findUserById } from "../../src/store/queries.js";
import { RejectionLog } from "../../src/store/rejection-log.js";
import { pruneOnce } from "../../src/store/retention.js";
import type { ClerkSyncDatabase } from "../../src/store/schema/database.js";
import type { ClerkSyncStore } from "../../src/store/store.js";
import { describeTarget, type StoreTarget } from "../helpers/databases.js";
import { userData, userEvent } from "../helpers/events.js";

type Db = Kysely<ClerkSyncDatabase>;

/** A receiver's engine over `store` whose hooks throw for the delivery ids in `failing`. */
function harness(store: ClerkSyncStore, options: { attemptsPerDelivery?: number } = {}) {
  let clock = 1_800_000_000_000;
  const failing = new Map<string, ClerkSyncError | Error>();
  const hookRuns: string[] = [];
  const engine = new SyncEngine<Db>(store, { now: () => clock, ...options });
  // Hooks on organizations and on user.updated: those deliveries go as jobs; user.created as plans.
  engine.on(["organization.created", "user.updated"], async (_event, { svixId }) => {
    hookRuns.push(svixId);
    const error = failing.get(svixId);
    if (error) throw error;
  });
  const send = async (svixId: string, body: Record<string, unknown>) => {
    const rawBody = JSON.stringify(body);
    try {
      return (await engine.process({ svixId, rawBody, parsed: parseEvent(rawBody) })).outcome;
    } catch (error) {
      return isClerkSyncError(error) ? error.code : "thrown";
    }
  };
  return {
    engine,
    failing,
    hookRuns,
    send,
    at(ms: number) {
      clock = ms;
    },
  };
}

const org = (id: string, updatedAt: number) => ({
  object: "event",
  type: "organization.created",
  timestamp: updatedAt,
  data: { object: "organization", id, name: id, slug: id, created_at: 1, updated_at: updatedAt },
});

async function attemptsOf(store: ClerkSyncStore, svixId: string) {
  return (await getDelivery(store, svixId))?.attempts.map((a) => ({
    attempt: a.attempt,
    source: a.source,
    outcome: a.outcome,
    httpStatus: a.httpStatus,
    errorCode: a.errorCode,
  }));
}

export function describeDeliveryLogConformance(target: StoreTarget): void {
  describeTarget(target, `delivery log: ${target.name}`, () => {
    let store: ClerkSyncStore;
    const opened: ClerkSyncStore[] = [];
    beforeEach(async () => {
      store = await target.fresh();
      opened.push(store);
      await store.migrate();
    });
    afterAll(async () => {
      for (const s of opened) await s.close();
    });

    it("records an attempt for each outcome: applied, duplicate, stale, ignored, failed hook, store error", async () => {
      const h = harness(store);
      expect(await h.send("msg_a", userEvent("user.created", userData("user_1", 2000)))).toBe("applied");
      expect(await h.send("msg_a", userEvent("user.created", userData("user_1", 2000)))).toBe("duplicate");
      expect(await h.send("msg_s", userEvent("user.created", userData("user_1", 1000)))).toBe("stale");
      expect(await h.send("msg_i", { object: "event", type: "widget.made", timestamp: 1, data: { id: "w" } })).toBe(
        "ignored",
      );
      h.failing.set("msg_h", new Error("boom"));
      expect(await h.send("msg_h", org("org_1", 5))).toBe("hook_failed");
      h.failing.set("msg_e", new ClerkSyncError("store_unavailable", "the database went away"));
      expect(await h.send("msg_e", org("org_2", 5))).toBe("store_unavailable");
      h.failing.clear();
      expect(await h.send("msg_h", org("org_1", 5))).toBe("applied");

      const webhook = (attempt: number, outcome: string, httpStatus = 200, errorCode: string | null = null) => ({
        attempt,
        source: "webhook",
        outcome,
        httpStatus,
        errorCode,
      });
      expect(await attemptsOf(store, "msg_a")).toEqual([webhook(2, "duplicate"), webhook(1, "applied")]);
      expect(await attemptsOf(store, "msg_s")).toEqual([webhook(1, "stale")]);
      expect(await attemptsOf(store, "msg_i")).toEqual([webhook(1, "ignored")]);
      expect(await attemptsOf(store, "msg_h")).toEqual([
        webhook(2, "applied"),
        webhook(1, "failed", 500, "hook_failed"),
      ]);
      expect(await attemptsOf(store, "msg_e")).toEqual([webhook(1, "failed", 503, "store_unavailable")]);
      const detail = await getDelivery(store, "msg_h");
      expect(detail?.attempts[1]?.errorMessage).toContain("threw");
      expect(detail?.deliveryCount).toBe(2);
    });

    it("keeps the last attemptsPerDelivery attempts of a delivery", async () => {
      const h = harness(store, { attemptsPerDelivery: 3 });
      for (let i = 0; i < 7; i++) await h.send("msg_many", userEvent("user.created", userData("user_m", 10)));
      h.failing.set("msg_job", new Error("again"));
      for (let i = 0; i < 5; i++) await h.send("msg_job", userEvent("user.updated", userData("user_j", 10)));
      expect((await attemptsOf(store, "msg_many"))?.map((a) => a.attempt)).toEqual([7, 6, 5]);
      expect((await attemptsOf(store, "msg_job"))?.map((a) => a.attempt)).toEqual([5, 4, 3]);
      expect((await getDelivery(store, "msg_many"))?.deliveryCount).toBe(7);
    });

    it("lists deliveries by each filter, newest first, in keyset pages", async () => {
      const h = harness(store);
      for (let i = 0; i < 7; i++) {
        h.at(1_000 * (i + 1));
        if (i % 3 === 0) h.failing.set(`msg_${i}`, new Error("x"));
        await h.send(
          `msg_${i}`,
          i % 2 === 0 ? userEvent("user.updated", userData(`user_${i}`, 5)) : org(`org_${i}`, 5),
        );
      }
      const ids = async (filter: Parameters<typeof listDeliveries>[1], limit = 3) => {
        const seen: string[] = [];
        let after: string | undefined;
        do {
          const page = await listDeliveries(store, filter, { limit, after });
          seen.push(...page.items.map((d) => d.svixId));
          after = page.next;
        } while (after !== undefined);
        return seen;
      };
      expect(await ids({})).toEqual(["msg_6", "msg_5", "msg_4", "msg_3", "msg_2", "msg_1", "msg_0"]);
      expect(await ids({ status: "failed" })).toEqual(["msg_6", "msg_3", "msg_0"]);
      expect(await ids({ type: "organization.created" })).toEqual(["msg_5", "msg_3", "msg_1"]);
      expect(await ids({ objectId: "user_4" })).toEqual(["msg_4"]);
      expect(await ids({ svixId: "msg_2" })).toEqual(["msg_2"]);
      expect(await ids({ since: 2_000, until: 5_000 }, 2)).toEqual(["msg_3", "msg_2", "msg_1"]);
      expect(await ids({ status: "applied", since: 2_000 }, 1)).toEqual(["msg_5", "msg_4", "msg_2", "msg_1"]);
      for (const bad of [
        () => listDeliveries(store, { status: "done" as never }),
        () => listDeliveries(store, { since: 5, until: 5 }),
        () => listDeliveries(store, {}, { after: "not-a-cursor" }),
        () => listDeliveries(store, {}, { limit: 0 }),
      ]) {
        await expect(bad()).rejects.toMatchObject({ code: "invalid_filter" });
      }
    });

    it("replays by id: a failed delivery applies once fixed, never over newer data; an applied one is a no-op unless forced", async () => {
      const h = harness(store);
      expect(await h.send("msg_v1", userEvent("user.created", userData("user_r", 1_000, { first_name: "v1" })))).toBe(
        "applied",
      );
      h.failing.set("msg_v2", new Error("hook bug"));
      h.failing.set("msg_o", new Error("hook bug"));
      expect(await h.send("msg_v2", userEvent("user.updated", userData("user_r", 2_000, { first_name: "v2" })))).toBe(
        "hook_failed",
      );
      expect(await h.send("msg_o", org("org_r", 5))).toBe("hook_failed");
      expect(await h.send("msg_v3", userEvent("user.updated", userData("user_r", 3_000, { first_name: "v3" })))).toBe(
        "applied",
      );
      h.failing.clear();
      const target = { store, engine: h.engine };

      const dry = await replayDeliveries(target, { ids: ["msg_o", "msg_v1"] }, { dryRun: true });
      expect(dry.items.map((i) => [i.svixId, i.outcome])).toEqual([
        ["msg_o", "would-replay"],
        ["msg_v1", "no-op"],
      ]);
      expect((await getDelivery(store, "msg_o"))?.status).toBe("failed");

      const runs = h.hookRuns.length;
      const result = await replayDeliveries(target, { ids: ["msg_o", "msg_v2", "msg_v1", "msg_missing"] });
      expect(result.items.map((i) => [i.svixId, i.before, i.outcome, i.error?.code])).toEqual([
        ["msg_o", "failed", "applied", undefined],
        // Older than the stored row: the version guard keeps v3.
        ["msg_v2", "failed", "stale", undefined],
        ["msg_v1", "applied", "duplicate", undefined],
        ["msg_missing", null, "error", "unknown_delivery"],
      ]);
      expect(h.hookRuns.slice(runs)).toEqual(["msg_o", "msg_v2"]);
      expect((await findUserById(store, "user_r"))?.first_name).toBe("v3");
      expect((await attemptsOf(store, "msg_o"))?.[0]).toEqual({
        attempt: 2,
        source: "replay",
        outcome: "applied",
        httpStatus: null,
        errorCode: null,
      });
      expect((await attemptsOf(store, "msg_v1"))?.[0]).toMatchObject({ source: "replay", outcome: "duplicate" });

      // Forced: processed again, its hooks once more; still never over newer data.
      const forced = await replayDeliveries(target, { ids: ["msg_v3"] }, { force: true });
      expect(forced.items.map((i) => i.outcome)).toEqual(["applied"]);
      expect(h.hookRuns.slice(-1)).toEqual(["msg_v3"]);
      expect((await attemptsOf(store, "msg_v3"))?.[0]).toMatchObject({
        attempt: 2,
        source: "force",
        outcome: "applied",
      });
      expect((await findUserById(store, "user_r"))?.first_name).toBe("v3");

      await expect(replayDeliveries(target, {})).rejects.toMatchObject({ code: "invalid_filter" });
      await expect(replayDeliveries(target, { ids: ["msg_o"], status: "failed" })).rejects.toMatchObject({
        code: "invalid_filter",
      });
    });

    it("replays by status and by time range, oldest first", async () => {
      const h = harness(store);
      for (let i = 1; i <= 5; i++) {
        h.at(10_000 * i);
        h.failing.set(`msg_t${i}`, new Error("down"));
        expect(await h.send(`msg_t${i}`, org(`org_t${i}`, i))).toBe("hook_failed");
      }
      h.at(60_000);
      expect(await h.send("msg_ok", org("org_ok", 1))).toBe("applied");
      h.failing.clear();
      const target = { store, engine: h.engine };

      const ranged = await replayDeliveries(target, { status: "failed", since: 20_000, until: 40_000 });
      expect(ranged.items.map((i) => [i.svixId, i.outcome])).toEqual([
        ["msg_t2", "applied"],
        ["msg_t3", "applied"],
      ]);
      const byStatus = await replayDeliveries(target, { status: "failed" });
      expect(byStatus.items.map((i) => i.svixId)).toEqual(["msg_t1", "msg_t4", "msg_t5"]);
      expect(byStatus.counts).toEqual({ applied: 3 });
      expect((await listDeliveries(store, { status: "failed" })).items).toEqual([]);
      const byType = await replayDeliveries(target, { type: "organization.created", since: 50_000 });
      expect(byType.items.map((i) => [i.svixId, i.outcome])).toEqual([
        ["msg_t5", "duplicate"],
        ["msg_ok", "duplicate"],
      ]);
    });

    it("prunes payloads while deliveries keep arriving: rows, statuses, failed payloads and the newest payloads kept", async () => {
      const h = harness(store);
      let sent = 0;
      let streaming = true;
      const stream = (async () => {
        while (sent < 200) {
          const batch = Array.from({ length: 10 }, (_, i) => {
            const n = sent + i;
            h.at(1_000 + n);
            const failing = n % 25 === 0;
            if (failing) h.failing.set(`msg_p${n}`, new Error("kept for replay"));
            const body = userEvent(failing ? "user.updated" : "user.created", userData(`user_p${n}`, 5));
            return h.send(`msg_p${n}`, body);
          });
          sent += batch.length;
          await Promise.all(batch);
        }
      })().finally(() => {
        streaming = false;
      });
      // Passes of pruning while the stream runs, each in batches of its own.
      let passes = 0;
      let pruned = 0;
      while (streaming) {
        pruned += (await pruneOnce(store, { payloads: { maxRows: 30 } }, 5_000)).payloads;
        passes++;
        // SQLite answers Kysely without leaving the microtask queue: let the writer's replies in.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await stream;
      pruned += (await pruneOnce(store, { payloads: { maxRows: 30 } }, 5_000)).payloads;
      expect(passes).toBeGreaterThan(0);

      const all = [];
      let after: string | undefined;
      do {
        const page = await listDeliveries(store, {}, { limit: 500, after });
        all.push(...page.items);
        after = page.next;
      } while (after !== undefined);
      expect(all).toHaveLength(sent);
      const failed = all.filter((d) => d.status === "failed");
      expect(failed).toHaveLength(Math.ceil(sent / 25));
      // Every failed delivery keeps its payload; so do the newest 30; every other one is pruned.
      for (const d of failed) expect(d.payloadPrunedAt).toBeNull();
      const newest = new Set(all.slice(0, 30).map((d) => d.svixId));
      for (const d of all) {
        const kept = d.status === "failed" || newest.has(d.svixId);
        expect([d.svixId, d.payloadPrunedAt === null]).toEqual([d.svixId, kept]);
      }
      expect(pruned).toBe(all.filter((d) => d.payloadPrunedAt !== null).length);
      // The mirrored rows are all there, and a pruned delivery says why it cannot be replayed.
      const applied = all.filter((d) => d.status === "applied");
      for (const d of applied) expect(await findUserById(store, d.objectId as string)).toBeTruthy();
      const prunedOne = all.find((d) => d.payloadPrunedAt !== null) as (typeof all)[number];
      expect((await getDelivery(store, prunedOne.svixId))?.payload).toBeNull();
      const replay = await replayDeliveries({ store, engine: h.engine }, { ids: [prunedOne.svixId] }, { force: true });
      expect(replay.items[0]?.error?.code).toBe("payload_pruned");
    });

    it("keeps the rejections log within its bounds, newest first, names only", async () => {
      const log = new RejectionLog(async () => store, { retention: { maxRows: 10 }, flushMs: 10_000 });
      const headers = {
        "svix-id": "msg_bad",
        "svix-signature": "v1,secret-looking",
        "content-type": "application/json",
      };
      for (let i = 0; i < 25; i++) {
        log.record(
          rejectionRecord("invalid_signature", 401, { headers, remoteAddress: "10.0.0.1", bodyBytes: i }, 1_000 + i),
        );
      }
      await log.close();
      const { items } = await listRejections(store, {}, { limit: 100 });
      expect(items.map((r) => r.bodyBytes)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
      expect(items[0]).toMatchObject({
        code: "invalid_signature",
        httpStatus: 401,
        svixId: "msg_bad",
        sourceAddress: "10.0.0.1",
        headerNames: ["content-type", "svix-id", "svix-signature"],
      });
      expect(JSON.stringify(items)).not.toContain("secret-looking");
      expect((await listRejections(store, { code: "invalid_signature" }, { limit: 3 })).next).toBeDefined();
    });
  });
}
