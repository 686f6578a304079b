import { join } from "node:path";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SyncEngine } from "../src/core/engine.js";
import { createWebhookHandler } from "../src/core/handler.js";
import { createVerifier } from "../src/core/verify.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { signDelivery } from "../src/testing/sign.js";
import { userData, userEvent } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("hooks");

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

type AppTables = {
  welcome_emails: { user_id: string; email: string | null };
};

describe("hooks run inside the sync transaction", () => {
  let store: ClerkSyncStore;

  beforeEach(async () => {
    store = openSqliteStore({ filename: join(tempDir(), "h.db") });
    await store.migrate();
    await sql`create table welcome_emails (user_id text primary key, email text)`.execute(store.db);
  });
  afterEach(async () => {
    await store.close();
  });

  function setup(options: { fail?: () => boolean } = {}) {
    const calls: string[] = [];
    const engine = new SyncEngine(store).on("user.created", async (event, { db, svixId, outcome }) => {
      calls.push(`${svixId}:${outcome}`);
      await db
        .withTables<AppTables>()
        .insertInto("welcome_emails")
        .values({ user_id: event.data.id, email: event.data.email_addresses[0]?.email_address ?? null })
        .execute();
      if (options.fail?.()) throw new Error("mail server down");
    });
    const handler = createWebhookHandler({ verify: createVerifier({ secrets: secret }), engine });
    const send = (body: string, id: string) => {
      const signed = signDelivery({ secret, payload: body, id });
      return handler.fetch(
        new Request("http://localhost/api/webhooks", { method: "POST", headers: signed.headers, body }),
      );
    };
    return { calls, send };
  }

  const welcomeRows = async () =>
    (await sql<{ user_id: string }>`select user_id from welcome_emails`.execute(store.db)).rows;
  const userRows = async () => (await sql<{ id: string }>`select id from clerk_users`.execute(store.db)).rows;

  it("runs once per delivery id, even when Svix delivers it again (concurrently or later)", async () => {
    const { calls, send } = setup();
    const body = JSON.stringify(
      userEvent(
        "user.created",
        userData("user_1", 1000, {
          email_addresses: [
            { object: "email_address", id: "idn_1", email_address: "a@example.com", verification: null },
          ],
        }),
      ),
    );
    const replies = await Promise.all([send(body, "msg_1"), send(body, "msg_1"), send(body, "msg_1")]);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await send(body, "msg_1")).status).toBe(200);
    expect(calls).toEqual(["msg_1:applied"]);
    expect(await welcomeRows()).toEqual([{ user_id: "user_1" }]);
  });

  it("a throwing hook rolls back its own and the sync's writes, answers 5xx, and the retry applies", async () => {
    let failing = true;
    const { calls, send } = setup({ fail: () => failing });
    const body = JSON.stringify(userEvent("user.created", userData("user_2", 1000)));
    const first = await send(body, "msg_2");
    expect(first.status).toBe(500);
    expect(((await first.json()) as { error: { code: string } }).error.code).toBe("hook_failed");
    expect(await welcomeRows()).toEqual([]);
    expect(await userRows()).toEqual([]);
    const recorded = await store.db.selectFrom("clerk_webhook_events").selectAll().executeTakeFirstOrThrow();
    expect(recorded).toMatchObject({ svix_id: "msg_2", status: "failed", error_code: "hook_failed" });

    failing = false;
    const retry = await send(body, "msg_2");
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { status: string }).status).toBe("applied");
    expect(await welcomeRows()).toEqual([{ user_id: "user_2" }]);
    expect(calls).toEqual(["msg_2:applied", "msg_2:applied"]);
  });

  it("one failing hook in a batch does not roll back the others", async () => {
    const { send } = setup({ fail: () => false });
    const engine = new SyncEngine(store).on("user.created", (event) => {
      if (event.data.id === "user_bad") throw new Error("no");
    });
    const handler = createWebhookHandler({ verify: createVerifier({ secrets: secret }), engine });
    void send;
    const post = (id: string) => {
      const body = JSON.stringify(userEvent("user.created", userData(id, 1000)));
      const signed = signDelivery({ secret, payload: body });
      return handler.fetch(new Request("http://x/", { method: "POST", headers: signed.headers, body }));
    };
    const replies = await Promise.all(["user_a", "user_bad", "user_b"].map(post));
    expect(replies.map((r) => r.status)).toEqual([200, 500, 200]);
    expect((await userRows()).map((r) => r.id).sort()).toEqual(["user_a", "user_b"]);
  });

  it("hooks see the outcome: a stale update still runs its hook once, with outcome stale", async () => {
    const seen: string[] = [];
    const engine = new SyncEngine(store).on(["user.created", "user.updated"], (event, ctx) => {
      seen.push(`${event.type}:${ctx.outcome}`);
    });
    const handler = createWebhookHandler({ verify: createVerifier({ secrets: secret }), engine });
    const post = (body: object) => {
      const signed = signDelivery({ secret, payload: JSON.stringify(body) });
      return handler.fetch(
        new Request("http://x/", { method: "POST", headers: signed.headers, body: signed.body as string }),
      );
    };
    await post(userEvent("user.updated", userData("user_1", 2000)));
    await post(userEvent("user.created", userData("user_1", 1000)));
    expect(seen).toEqual(["user.updated:applied", "user.created:stale"]);
  });

  it("filters what is mirrored; unfiltered types are recorded as ignored and still reach their hooks", async () => {
    const seen: string[] = [];
    const engine = new SyncEngine(store, { events: ["organization.*"] }).on("user.created", (e, ctx) => {
      seen.push(`${e.type}:${ctx.outcome}`);
    });
    const handler = createWebhookHandler({ verify: createVerifier({ secrets: secret }), engine });
    const body = JSON.stringify(userEvent("user.created", userData("user_1", 1000)));
    const signed = signDelivery({ secret, payload: body });
    const reply = await handler.fetch(new Request("http://x/", { method: "POST", headers: signed.headers, body }));
    expect(((await reply.json()) as { status: string }).status).toBe("ignored");
    expect(await userRows()).toEqual([]);
    expect(seen).toEqual(["user.created:ignored"]);
  });
});
