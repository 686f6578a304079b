/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process, real HTTP,
 * a real SQLite file read back with SQL. Assertions are on status codes, error codes and reply
 * statuses, never on message text.
 *
 * This file: the process's life: kill -9 right after a 2xx and with deliveries in flight, and
 * graceful shutdown on SIGTERM.
 */
import { setTimeout as delay } from "node:timers/promises";
import { describe, expect, test } from "vitest";
import {
  type Event,
  emailsOf,
  expectNoSecretInStdout,
  expectUserRowMatches,
  userEvent,
} from "./helpers/service-events.js";
import { startServiceProcess } from "./helpers/service-process.js";

describe.concurrent("clerk-sync serve (real process, real HTTP, real SQLite file)", () => {
  test("kill -9 right after the last 2xx: every acknowledged delivery is in the file after a restart", async () => {
    const svc = await startServiceProcess();
    const events = Array.from({ length: 40 }, () => userEvent("user.created"));
    const replies = await Promise.all(events.map((event) => svc.post(event)));
    // Immediately: no grace for buffers to be flushed.
    const killed = svc.kill9();
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body.status).toBe("applied");
    }
    expect((await killed).signal).toBe("SIGKILL");

    await svc.restart();
    expect(svc.counts()).toEqual({ events: 40, users: 40, emails: 40 });
    events.forEach((event, i) => {
      const [email] = emailsOf(event);
      expectUserRowMatches(svc.user(String(event.data.id)), event, email?.email_address ?? "missing");
      expect(svc.event(replies[i]?.id ?? "")).toMatchObject({ status: "applied", delivery_count: 1 });
    });
    // The restarted service carries on from the same file: retries of acknowledged deliveries are duplicates.
    const retry = await svc.post(events[0] as Event, { id: replies[0]?.id ?? "" });
    expect(retry.body.status).toBe("duplicate");
    expect((await svc.stop()).code).toBe(0);
    expectNoSecretInStdout(svc);
  });

  test("kill -9 with deliveries in flight: acknowledged ones are kept, the others all-or-nothing", async () => {
    const svc = await startServiceProcess();
    const events = Array.from({ length: 60 }, () => userEvent("user.created"));
    let acknowledged = 0;
    const outcomes = await Promise.all(
      events.map((event) =>
        svc.post(event).then(
          (reply) => {
            if (reply.status === 200 && ++acknowledged === 20) void svc.kill9();
            return { event, reply };
          },
          () => ({ event, reply: undefined }),
        ),
      ),
    );
    await svc.kill9();
    await svc.restart();
    let kept = 0;
    for (const { event, reply } of outcomes) {
      const userId = String(event.data.id);
      const row = svc.user(userId);
      const delivery = svc.get("SELECT * FROM clerk_webhook_events WHERE object_id = ?", userId);
      if (reply?.status === 200) {
        expect(reply.body.status).toBe("applied");
        expect(row).toBeDefined();
        expect(delivery).toMatchObject({ svix_id: reply.id, status: "applied" });
        kept++;
      } else {
        // Never acknowledged: either fully applied or not at all.
        expect(row === undefined).toBe(delivery === undefined);
        expect(svc.emails(userId)).toHaveLength(row ? 1 : 0);
      }
    }
    expect(kept).toBeGreaterThanOrEqual(20);
    expect((await svc.stop()).code).toBe(0);
  });

  test("SIGTERM with deliveries in flight: every 2xx is in the file, the others are refused or absent, exit 0", async () => {
    const svc = await startServiceProcess();
    // A delivery whose body is still arriving when SIGTERM lands.
    const slowEvent = userEvent("user.created");
    const slow = svc.openPost(slowEvent);
    await slow.write(slow.bytes.subarray(0, 200));
    await delay(150);

    const burst = Array.from({ length: 30 }, () => userEvent("user.created"));
    let firstReplied: () => void = () => {};
    const firstReply = new Promise<void>((resolve) => {
      firstReplied = resolve;
    });
    const outcomes = Promise.all(
      burst.map((event) =>
        svc.post(event).then(
          (reply) => {
            firstReplied();
            return { event, reply };
          },
          () => {
            firstReplied();
            return { event, reply: undefined };
          },
        ),
      ),
    );
    await firstReply;
    svc.signal("SIGTERM");
    await delay(100);
    slow.end(slow.bytes.subarray(200));

    const slowReply = await slow.reply;
    expect(slowReply.status).toBe(200);
    expect(slowReply.body.status).toBe("applied");
    const exit = await svc.exited();
    expect(exit).toEqual({ code: 0, signal: null });

    const stopped = svc.counts();
    expect(svc.user(String(slowEvent.data.id))).toBeDefined();
    expect(svc.event(slow.id)).toMatchObject({ status: "applied" });
    let acknowledged = 0;
    for (const { event, reply } of await outcomes) {
      const userId = String(event.data.id);
      const row = svc.user(userId);
      const delivery = svc.get("SELECT * FROM clerk_webhook_events WHERE object_id = ?", userId);
      if (reply?.status === 200) {
        acknowledged++;
        expect(reply.body.status).toBe("applied");
        expect(row).toBeDefined();
        expect(delivery).toMatchObject({ svix_id: reply.id, status: "applied" });
      } else if (reply) {
        // Refused while shutting down: Svix retries it later; nothing was written.
        expect(reply.status).toBe(503);
        expect(reply.body.error.code).toBe("shutting_down");
        expect(row).toBeUndefined();
        expect(delivery).toBeUndefined();
      } else {
        expect(row === undefined).toBe(delivery === undefined);
      }
    }
    expect(acknowledged).toBeGreaterThanOrEqual(1);
    expect(stopped.users).toBe(stopped.events);
    expectNoSecretInStdout(svc);
  });
});
