/**
 * Chaos: slow clients. Hundreds of connections send valid headers and then trickle their body a
 * byte at a time, while the simulator delivers a history: every real delivery is acknowledged at
 * its first attempt, and the trickling connections are cut off by the request timeout.
 */
import { connect, type Socket } from "node:net";
import { expect, test } from "vitest";
import { generateHistory } from "../src/simulate/history.js";
import { sendLikeSvix } from "../src/simulate/sender.js";
import { openStore } from "../src/store/open.js";
import { auditDeliveries } from "./helpers/chaos.js";
import { startServiceProcess } from "./helpers/service-process.js";

const SLOW = 300;

test(`${SLOW} trickling connections do not starve real deliveries`, async () => {
  // A short request timeout, so that the trickling connections are cut within the test.
  const svc = await startServiceProcess({
    env: { CLERK_SYNC_REQUEST_TIMEOUT_MS: "4000", CLERK_SYNC_HEADERS_TIMEOUT_MS: "2000" },
  });
  const sockets: Socket[] = [];
  let closedByServer = 0;
  for (let i = 0; i < SLOW; i++) {
    const socket = connect(svc.port, "127.0.0.1");
    socket.on("error", () => {});
    socket.on("close", () => closedByServer++);
    socket.write(
      `POST /api/webhooks HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nsvix-id: msg_slow_${i}\r\nsvix-timestamp: ${Math.floor(Date.now() / 1000)}\r\nsvix-signature: v1,AAAA\r\n\r\n{`,
    );
    sockets.push(socket);
  }
  const trickle = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write(" ");
  }, 200);
  try {
    const history = generateHistory({ seed: 31, users: 50 });
    const report = await sendLikeSvix(history, { url: svc.webhookUrl, secret: svc.secret, concurrency: 8, seed: 31 });
    console.log(
      `chaos.slow-clients: ${JSON.stringify({ slow: SLOW, messages: report.messages, attempts: report.attempts, answers: report.answers })}`,
    );
    expect(report.acknowledged).toBe(history.length);
    expect(report.answers).toEqual({ "200": history.length });
    // The trickling connections are closed by the service's request timeout, not by the test.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (closedByServer === SLOW) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    expect(closedByServer).toBe(SLOW);
    expect((await svc.request("/healthz")).status).toBe(200);
    await svc.stop();
    const store = await openStore(`file:${svc.dbPath}`);
    try {
      const audit = await auditDeliveries(store, history, report);
      expect(audit.lost).toEqual([]);
      expect(audit.recorded).toBe(history.length);
    } finally {
      await store.close();
    }
  } finally {
    clearInterval(trickle);
    for (const s of sockets) s.destroy();
  }
}, 60_000);
