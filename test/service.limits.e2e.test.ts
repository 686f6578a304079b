/**
 * Black-box tests of the standalone service: the real `clerk-sync serve` process, real sockets.
 * Assertions are on status codes, error codes and closed connections, never on durations.
 *
 * This file: the HTTP limits. A client that trickles its body or never finishes its headers is
 * cut off after the configured time; connections beyond the cap are closed on arrival; real
 * deliveries on other connections go on being applied meanwhile.
 */
import { connect, type Socket } from "node:net";
import { describe, expect, test } from "vitest";
import { userEvent } from "./helpers/service-events.js";
import { startServiceProcess } from "./helpers/service-process.js";

/** Resolves with what the server sent once it closes the connection. */
function untilClosed(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      received += text;
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(received));
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => resolve(socket));
    socket.once("error", reject);
  });
}

describe.concurrent("HTTP limits of clerk-sync serve (real process, real sockets)", () => {
  test("a trickled body is cut off with 408 after CLERK_SYNC_REQUEST_TIMEOUT_MS while a delivery on another connection is applied", async () => {
    const svc = await startServiceProcess({
      env: { CLERK_SYNC_HEADERS_TIMEOUT_MS: "300", CLERK_SYNC_REQUEST_TIMEOUT_MS: "600" },
    });
    const slow = svc.openPost(userEvent("user.created"));
    await slow.write(slow.bytes.subarray(0, 10));
    // The body's other bytes never come; one more trickles in meanwhile.
    const normal = await svc.post(userEvent("user.created"));
    expect(normal.status).toBe(200);
    expect(normal.body.status).toBe("applied");
    await slow.write(slow.bytes.subarray(10, 11));
    const cut = await slow.reply.then(
      (reply) => reply.status,
      () => "closed",
    );
    expect([408, "closed"]).toContain(cut);
    expect(svc.event(slow.id)).toBeUndefined();
    expect(svc.event(normal.id)).toMatchObject({ status: "applied" });
    expect((await svc.stop()).code).toBe(0);
  });

  test("headers that never end are cut off after CLERK_SYNC_HEADERS_TIMEOUT_MS (flag)", async () => {
    const svc = await startServiceProcess({ args: ["--headers-timeout-ms", "300", "--request-timeout-ms", "600"] });
    const socket = await open(svc.port);
    const closed = untilClosed(socket);
    socket.write("POST /api/webhooks HTTP/1.1\r\nhost: x\r\nsvix-id: msg_1\r\n");
    const answer = await closed;
    // Node answers 408 when nothing of a reply was sent yet, or just closes.
    expect(answer === "" || answer.startsWith("HTTP/1.1 408")).toBe(true);
    expect((await svc.request("/healthz")).status).toBe(200);
    expect((await svc.stop()).code).toBe(0);
  });

  test("connections beyond CLERK_SYNC_MAX_CONNECTIONS are closed on arrival; freed, the service takes deliveries again", async () => {
    const svc = await startServiceProcess({ env: { CLERK_SYNC_MAX_CONNECTIONS: "2" } });
    const held = [await open(svc.port), await open(svc.port)];
    for (const socket of held) socket.write("POST /api/webhooks HTTP/1.1\r\nhost: x\r\n"); // headers under way
    const extra = await open(svc.port);
    const closed = untilClosed(extra);
    extra.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    expect(await closed).toBe("");

    const released = held.map(untilClosed);
    for (const socket of held) socket.destroy();
    await Promise.all(released);
    const delivery = await svc.post(userEvent("user.created"));
    expect(delivery.status).toBe(200);
    expect((await svc.stop()).code).toBe(0);
    expect(svc.logs().some((line) => line.msg === "connection refused: too many open connections")).toBe(true);
  });

  test("malformed limits stop the service with invalid_config", async () => {
    const bad = startServiceProcess({ env: { CLERK_SYNC_MAX_CONNECTIONS: "lots" }, startTimeoutMs: 10_000 });
    await expect(bad).rejects.toThrow(/invalid_config/);
    const inverted = startServiceProcess({
      env: { CLERK_SYNC_HEADERS_TIMEOUT_MS: "2000", CLERK_SYNC_REQUEST_TIMEOUT_MS: "1000" },
    });
    await expect(inverted).rejects.toThrow(/invalid_config/);
  });
});
