/**
 * The HTTP half of the hand-written peers (bench/peer-server.ts, bench/peer-pg-server.ts,
 * bench/peer-mysql-server.ts): node:http, the raw body, `verifyWebhook` from
 * `@clerk/backend/webhooks` on a Web Request, then the peer's own upsert of `user.created` /
 * `user.updated` (awaited before the 200). Prints one JSON "listening" line.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhook } from "@clerk/backend/webhooks";

/** The columns a peer stores: what Clerk's syncing guide suggests keeping of a user. */
export interface PeerUser {
  id: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  /** The whole user object, as JSON text. */
  data: string;
  updatedAt: number;
}

interface EmailAddress {
  id: string;
  email_address: string;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function reply(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Serves the webhook endpoint with `upsert` as the storage step; `close` runs on SIGTERM. */
export function servePeer(upsert: (user: PeerUser) => Promise<void>, close: () => Promise<void>): void {
  const signingSecret = process.env.CLERK_WEBHOOK_SIGNING_SECRET;
  if (!signingSecret) {
    process.stderr.write("CLERK_WEBHOOK_SIGNING_SECRET is not set\n");
    process.exit(2);
  }
  const server = createServer({ keepAliveTimeout: 65_000 }, async (req, res) => {
    if (req.method !== "POST" || req.url !== "/api/webhooks") {
      req.resume();
      reply(res, 404, { error: "not found" });
      return;
    }
    const raw = await readBody(req);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
    }
    const request = new Request(`http://127.0.0.1${req.url}`, { method: "POST", headers, body: new Uint8Array(raw) });
    let event: Awaited<ReturnType<typeof verifyWebhook>>;
    try {
      event = await verifyWebhook(request, { signingSecret });
    } catch (error) {
      reply(res, 400, { error: String(error) });
      return;
    }
    try {
      if (event.type === "user.created" || event.type === "user.updated") {
        const user = event.data;
        const emails = user.email_addresses as unknown as EmailAddress[];
        await upsert({
          id: user.id,
          firstName: user.first_name,
          lastName: user.last_name,
          email: emails.find((e) => e.id === user.primary_email_address_id)?.email_address ?? null,
          data: JSON.stringify(user),
          updatedAt: user.updated_at,
        });
      }
      reply(res, 200, { ok: true });
    } catch (error) {
      reply(res, 500, { error: String(error) });
    }
  });

  server.listen(Number(process.argv[3] ?? 0), "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}/api/webhooks` })}\n`);
  });

  process.once("SIGTERM", () => {
    server.close();
    server.closeAllConnections();
    close().finally(() => process.exit(0));
  });
}
