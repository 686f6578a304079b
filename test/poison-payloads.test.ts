/**
 * Validly signed deliveries the databases cannot take as they are ("poison payloads"): each
 * ends as applied (stored faithfully) or as a coded 4xx whose reason is in the delivery log,
 * never as a 5xx Svix would retry for a day. Sent through the real handler, engine and store
 * on SQLite, PostgreSQL and MariaDB, and once through the real service over HTTP.
 */
import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { createWebhookHandler } from "../src/core/handler.js";
import type { DeliveryPlan } from "../src/core/store-contract.js";
import { createVerifier } from "../src/core/verify.js";
import { generateSecret } from "../src/server/env-files.js";
import { jsonText } from "../src/store/dialect.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { signDelivery } from "../src/testing/sign.js";
import { describeTarget, mysqlTarget, postgresTarget, sqliteFileTarget } from "./helpers/databases.js";
import { userData, userEvent, userPlan } from "./helpers/events.js";
import { cleanupServiceProcesses, startServiceProcess } from "./helpers/service-process.js";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const VERSION = 1_700_000_000_001;

/** A user.updated body; `metadata` is JSON text placed as `public_metadata.d`, as written. */
function userBody(id: string, overrides: Record<string, unknown> = {}, metadata?: string): string {
  const body = JSON.stringify(
    userEvent("user.updated", userData(id, VERSION, { ...overrides, public_metadata: { d: "METADATA" } }), VERSION),
  );
  return metadata === undefined ? body : body.replace('"METADATA"', metadata);
}

const nested = (depth: number) => `${"[".repeat(depth)}1${"]".repeat(depth)}`;
const randomText = (chars: number) =>
  randomBytes(Math.ceil(chars / 2))
    .toString("hex")
    .slice(0, chars);

type Db = "sqlite-file" | "postgres" | "mysql";
/** What a delivery ends as: its 2xx outcome, or the code of its 4xx. */
type End = "applied" | "ignored" | "unstorable_payload" | "invalid_event" | "invalid_payload";

interface Case {
  name: string;
  body: string;
  svixId?: string;
  /** Per database; `logged: false` where the delivery log's key itself cannot hold the delivery id or type. */
  ends: Record<Db, End>;
  logged?: Partial<Record<Db, boolean>>;
  /** Checks the stored user row after an `applied` end. */
  stored?: (row: Record<string, unknown>) => void;
}

const all = (end: End): Record<Db, End> => ({ "sqlite-file": end, postgres: end, mysql: end });

function cases(): Case[] {
  const longId300 = `user_${randomText(300)}`;
  return [
    {
      name: "JSON nested 5,000 levels deep in public_metadata",
      body: userBody("user_deep", {}, nested(5000)),
      // MariaDB's JSON_VALID (its JSON columns' CHECK) refuses 32 levels or more.
      ends: { "sqlite-file": "applied", postgres: "applied", mysql: "unstorable_payload" },
      stored: (row) => {
        const text = typeof row.public_metadata === "string" ? row.public_metadata : jsonText(row.public_metadata);
        expect(text.replaceAll(" ", "")).toBe(`{"d":${nested(5000)}}`);
      },
    },
    {
      name: "JSON nested 40 levels deep",
      body: userBody("user_deep40", {}, nested(40)),
      ends: { "sqlite-file": "applied", postgres: "applied", mysql: "unstorable_payload" },
    },
    {
      name: "JSON nested 40,000 levels deep (beyond PostgreSQL's stack)",
      body: userBody("user_deep40k", {}, nested(40_000)),
      ends: { "sqlite-file": "applied", postgres: "unstorable_payload", mysql: "unstorable_payload" },
    },
    {
      name: "an object id of 305 characters (MySQL keys are varchar(255))",
      body: userBody(longId300),
      ends: { "sqlite-file": "applied", postgres: "applied", mysql: "unstorable_payload" },
    },
    {
      name: "an object id of 3,005 random characters (over a PostgreSQL B-tree entry)",
      body: userBody(`user_${randomText(3000)}`),
      ends: { "sqlite-file": "applied", postgres: "unstorable_payload", mysql: "unstorable_payload" },
    },
    {
      name: "a svix-id of 304 characters",
      body: userBody("user_longsvix"),
      svixId: `msg_${randomText(300)}`,
      ends: { "sqlite-file": "applied", postgres: "applied", mysql: "unstorable_payload" },
      logged: { mysql: false },
    },
    {
      name: "a svix-id of 3,004 random characters",
      body: userBody("user_longsvix2"),
      svixId: `msg_${randomText(3000)}`,
      ends: { "sqlite-file": "applied", postgres: "unstorable_payload", mysql: "unstorable_payload" },
      logged: { postgres: false, mysql: false },
    },
    {
      name: "NUL in a text column",
      body: userBody("user_nul", { first_name: "a\u0000b" }),
      ends: { "sqlite-file": "applied", postgres: "unstorable_payload", mysql: "applied" },
      stored: (row) => expect(row.first_name).toBe("a\u0000b"),
    },
    {
      name: "NUL in metadata",
      body: userBody("user_nulmeta", {}, '"a\\u0000b"'),
      ends: { "sqlite-file": "applied", postgres: "unstorable_payload", mysql: "applied" },
    },
    {
      name: "NUL in the object id",
      body: userBody("user_\u0000"),
      ends: { "sqlite-file": "applied", postgres: "unstorable_payload", mysql: "applied" },
    },
    {
      name: "an unpaired surrogate in metadata",
      body: userBody("user_surrogate", {}, '"\\ud800"'),
      ends: { "sqlite-file": "applied", postgres: "unstorable_payload", mysql: "unstorable_payload" },
    },
    {
      name: "an unpaired surrogate in a text column (UTF-8 cannot hold it: never written as U+FFFD)",
      body: userBody("user_surrogate2", { first_name: "\udc00x" }),
      ends: all("unstorable_payload"),
    },
    {
      name: "4-byte characters",
      body: userBody("user_emoji", { first_name: "😀𝄞" }, '"😀"'),
      ends: all("applied"),
      stored: (row) => expect(row.first_name).toBe("😀𝄞"),
    },
    {
      name: "metadata of 900 KB",
      body: userBody("user_big", {}, JSON.stringify("z".repeat(900_000))),
      ends: all("applied"),
    },
    {
      name: "updated_at beyond 2^53 (JSON.parse would already have changed it)",
      body: userBody("user_big_version").replace(`"updated_at":${VERSION}`, '"updated_at":9007199254740993'),
      ends: all("invalid_event"),
    },
    {
      name: "updated_at with a fraction (MySQL would round it)",
      body: userBody("user_fraction").replace(`"updated_at":${VERSION}`, `"updated_at":${VERSION}.5`),
      ends: all("invalid_event"),
    },
    {
      name: "created_at beyond bigint",
      body: userBody("user_huge_created", { created_at: 1e30 }),
      ends: all("invalid_event"),
    },
    {
      name: "updated_at as a string",
      body: userBody("user_string_version").replace(`"updated_at":${VERSION}`, `"updated_at":"${VERSION}"`),
      ends: all("invalid_event"),
    },
    {
      name: "an envelope timestamp beyond bigint",
      body: JSON.stringify({
        object: "event",
        type: "user.deleted",
        timestamp: 1e300,
        data: { id: "user_x", deleted: true },
      }),
      ends: all("invalid_payload"),
    },
    {
      name: "an unknown type of 300 characters",
      body: JSON.stringify({ object: "event", type: `x.${"t".repeat(300)}`, timestamp: 1, data: { id: "x_1" } }),
      ends: { "sqlite-file": "ignored", postgres: "ignored", mysql: "unstorable_payload" },
      logged: { mysql: false },
    },
    {
      name: "an unknown type with NUL",
      body: JSON.stringify({ object: "event", type: "x.\u0000", timestamp: 1, data: { id: "x_1" } }),
      ends: { "sqlite-file": "ignored", postgres: "unstorable_payload", mysql: "ignored" },
      logged: { postgres: false },
    },
  ];
}

const targets = [sqliteFileTarget(), await postgresTarget(), await mysqlTarget()];

for (const target of targets) {
  describeTarget(target, `poison payloads on ${target.name}`, () => {
    it("every validly signed delivery ends as applied or as a coded 4xx recorded in the delivery log; the retry ends the same", async () => {
      const store = await target.fresh();
      try {
        await store.migrate();
        const handler = createWebhookHandler({
          verify: createVerifier({ secrets: secret }),
          engine: new SyncEngine(store),
          maxBodyBytes: 1024 * 1024,
        });
        for (const c of cases()) {
          const signed = signDelivery({ secret, payload: c.body, ...(c.svixId ? { id: c.svixId } : {}) });
          const send = () =>
            handler.fetch(
              new Request("http://localhost/api/webhooks", { method: "POST", headers: signed.headers, body: c.body }),
            );
          const expected = c.ends[target.name as Db];
          for (const attempt of [1, 2]) {
            const response = await send();
            const reply = (await response.json()) as { status?: string; error?: { code: string } };
            const label = `${c.name} (attempt ${attempt})`;
            if (expected === "applied" || expected === "ignored") {
              expect(response.status, label).toBe(200);
              expect(reply.status, label).toBe(attempt === 1 ? expected : "duplicate");
              continue;
            }
            expect(reply.error?.code, label).toBe(expected);
            expect(response.status, label).toBe(expected === "unstorable_payload" ? 422 : 400);
            // Svix stops retrying a message answered with this header (docs.svix.com/receiving/delivery-control).
            expect(response.headers.get("webhook-delivery"), label).toBe(
              expected === "unstorable_payload" ? "abort-message" : null,
            );
          }
          const logged = await store.db
            .selectFrom("clerk_webhook_events")
            .selectAll()
            .where("svix_id", "=", signed.id)
            .execute()
            .catch(() => []); // PostgreSQL refuses to compare with an id holding NUL
          if (expected === "unstorable_payload") {
            if (c.logged?.[target.name as Db] === false) {
              expect(logged, c.name).toEqual([]);
            } else {
              expect(logged.length, c.name).toBe(1);
              const row = logged[0] as Record<string, unknown>;
              expect([row.status, row.error_code], c.name).toEqual(["failed", "unstorable_payload"]);
              expect(String(row.error_message).length, c.name).toBeGreaterThan(0);
              // Replayable: the raw payload is kept exactly as received.
              expect(row.payload, c.name).toBe(c.body);
            }
          } else if (expected === "applied" || expected === "ignored") {
            expect(
              logged.map((r) => [r.status, r.payload === c.body]),
              c.name,
            ).toEqual([[expected, true]]);
          } else {
            expect(logged, c.name).toEqual([]);
          }
          if (expected === "applied" && c.stored) {
            const id = (JSON.parse(c.body) as { data: { id: string } }).data.id;
            const row = await store.db.selectFrom("clerk_users").selectAll().where("id", "=", id).executeTakeFirst();
            c.stored(row as Record<string, unknown>);
          }
        }
      } finally {
        await store.close();
      }
    }, 120_000);

    it("in a batch, a delivery whose failure cannot even be recorded fails alone; the others commit", async () => {
      const store = await target.fresh();
      try {
        await store.migrate();
        const withId = (plan: DeliveryPlan, svixId: string): DeliveryPlan => ({
          ...plan,
          record: { ...plan.record, svixId },
        });
        // A svix-id no key column takes (MySQL: 255 characters, PostgreSQL: a B-tree entry), and
        // NUL in a name, which PostgreSQL refuses (and records).
        const poison = withId(userPlan("user_b"), `msg_${randomText(3000)}`);
        const nul = userPlan("user_c");
        const nulUser = nul.mutations[0] as Extract<DeliveryPlan["mutations"][number], { op: "upsert" }>;
        const withNul = { ...nul, mutations: [{ ...nulUser, values: { ...nulUser.values, first_name: "a\u0000b" } }] };
        const results = await store.applyPlans([userPlan("user_a"), poison, withNul, userPlan("user_d")]);
        const ends = results.map((r) => (r.ok ? r.value : (r.error as { code: string }).code));
        const refuses = target.name !== "sqlite-file";
        expect(ends).toEqual([
          "applied",
          refuses ? "unstorable_payload" : "applied",
          target.name === "postgres" ? "unstorable_payload" : "applied",
          "applied",
        ]);
        const users = await store.db.selectFrom("clerk_users").select("id").orderBy("id").execute();
        expect(users.map((u) => u.id)).toEqual(
          refuses
            ? ["user_a", ...(target.name === "postgres" ? [] : ["user_c"]), "user_d"]
            : ["user_a", "user_b", "user_c", "user_d"],
        );
      } finally {
        await store.close();
      }
    });

    it("a bug in clerk-sync is internal_error (500), recorded with its reason, not store_unavailable", async () => {
      const store = await target.fresh();
      try {
        await store.migrate();
        const payload = userBody("user_bug");
        // A value no JSON column can encode (JSON.stringify throws a TypeError on a BigInt).
        const [result] = await store.applyPlans([
          {
            record: {
              svixId: "msg_bug",
              type: "user.updated",
              objectType: "user",
              objectId: "user_bug",
              eventTimestamp: VERSION,
              receivedAt: Date.now(),
              payload,
            },
            hard: false,
            mutations: [
              {
                op: "upsert",
                table: "clerk_users",
                id: "user_bug",
                version: VERSION,
                values: { public_metadata: { n: 1n } },
                children: [],
              },
            ],
          },
        ]);
        expect(result?.ok).toBe(false);
        expect((result as { error: { code: string } }).error.code).toBe("internal_error");
        const [row] = await store.db.selectFrom("clerk_webhook_events").selectAll().execute();
        expect([row?.svix_id, row?.status, row?.error_code]).toEqual(["msg_bug", "failed", "internal_error"]);
        expect(row?.error_message).toContain("TypeError");
      } finally {
        await store.close();
      }
    });

    it("the database's own failure (its tables missing) stays store_unavailable (503)", async () => {
      const store: ClerkSyncStore = await target.fresh(); // not migrated
      try {
        const handler = createWebhookHandler({
          verify: createVerifier({ secrets: secret }),
          engine: new SyncEngine(store),
        });
        const body = userBody("user_nowhere");
        const signed = signDelivery({ secret, payload: body });
        const response = await handler.fetch(
          new Request("http://localhost/api/webhooks", { method: "POST", headers: signed.headers, body }),
        );
        expect(response.status).toBe(503);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe("store_unavailable");
        expect(response.headers.get("webhook-delivery")).toBeNull();
      } finally {
        await store.close();
      }
    });
  });
}

const postgres = targets[1] as (typeof targets)[number];
describeTarget(postgres, "poison payloads through the service over HTTP", () => {
  afterAll(cleanupServiceProcesses);

  it("NUL in a name on PostgreSQL: 422 unstorable_payload with abort-message, recorded as failed, its payload kept", async () => {
    const store = await postgres.fresh();
    try {
      await store.migrate();
      const service = await startServiceProcess({
        secret: generateSecret(),
        databaseFlag: false,
        env: { DATABASE_URL: postgres.url?.(store) },
        startTimeoutMs: 30_000,
      });
      const body = userBody("user_http_nul", { first_name: "a\u0000b" });
      for (const _attempt of [1, 2]) {
        const reply = await service.post(body, { id: "msg_http_nul" });
        expect(reply.status).toBe(422);
        expect(reply.body.error.code).toBe("unstorable_payload");
        expect(reply.headers.get("webhook-delivery")).toBe("abort-message");
      }
      const rows = await store.db.selectFrom("clerk_webhook_events").selectAll().execute();
      expect(rows.map((r) => [r.svix_id, r.status, r.error_code, r.payload === body])).toEqual([
        ["msg_http_nul", "failed", "unstorable_payload", true],
      ]);
      const rejected = service.logs().filter((l) => l.msg === "delivery rejected" && l.code === "unstorable_payload");
      // The first attempt is logged in full; its identical repeat is held by the service's logger
      // and summed up later (`more_like_this`, docs/configuration.md#logs).
      expect(rejected.length).toBe(1);
      expect(typeof rejected[0]?.reason).toBe("string");
      // A sound delivery after it is applied: the service is not stuck on the poison one.
      const fine = await service.post(userBody("user_http_fine"));
      expect(fine.status).toBe(200);
    } finally {
      await store.close();
    }
  }, 60_000);
});
