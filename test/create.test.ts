import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createClerkSync } from "../src/receiver/create-clerk-sync.js";
import { generateSecret } from "../src/server/env-files.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { ClerkSyncStore } from "../src/store/store.js";
import { signDelivery } from "../src/testing/sign.js";
import { userData, userEvent } from "./helpers/events.js";
import { useTempDirs } from "./helpers/tmp.js";

const tempDir = useTempDirs("create");

/** A signed user.created delivery as a Web Request. */
function delivery(secret: string, userId: string): Request {
  const payload = JSON.stringify(userEvent("user.created", userData(userId, Date.now())));
  const { headers } = signDelivery({ secret, payload });
  return new Request("http://localhost/api/webhooks", { method: "POST", body: payload, headers });
}

describe("createClerkSync: the in-app receiver", () => {
  it("receivers on one database URL share one store, closed with the last of them (a dev server's reloads leak none)", async () => {
    const databaseUrl = `file:${join(tempDir(), "shared.db")}`;
    const secrets = generateSecret();
    const first = createClerkSync({ databaseUrl, secrets });
    const second = createClerkSync({ databaseUrl, secrets });
    const store = await first.store();
    expect(await second.store()).toBe(store);

    await first.close();
    expect((await second.fetch(delivery(secrets, "user_shared"))).status).toBe(200);
    await expect(store.ping()).resolves.toBeUndefined();

    await second.close();
    await expect(store.ping()).rejects.toThrow();
    const third = createClerkSync({ databaseUrl, secrets });
    expect(await third.store()).not.toBe(store);
    await third.close();
  });

  it("runs as many batches at once as its store allows, once the store is open", async () => {
    const real = openSqliteStore({ filename: join(tempDir(), "concurrent.db") });
    let active = 0;
    let most = 0;
    const store: ClerkSyncStore = {
      ...real,
      maxConcurrentBatches: 3,
      async applyPlans(plans) {
        active++;
        most = Math.max(most, active);
        try {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return await real.applyPlans(plans);
        } finally {
          active--;
        }
      },
    };
    const secrets = generateSecret();
    const sync = createClerkSync({ store, secrets });
    try {
      expect((await sync.fetch(delivery(secrets, "user_first"))).status).toBe(200);
      // Deliveries 5 ms apart while each batch takes 20 ms: each finds the earlier ones in flight.
      const answers: Promise<Response>[] = [];
      for (let i = 0; i < 8; i++) {
        answers.push(sync.fetch(delivery(secrets, `user_${i}`)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const statuses = (await Promise.all(answers)).map((a) => a.status);
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect(most).toBe(3);
    } finally {
      await sync.close();
    }
  });
});
