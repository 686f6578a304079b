/**
 * The floor for the ingest benchmark: a bare node:http server that reads each request body and
 * answers 200, with no verification and no storage.
 *
 * Usage: node --import tsx bench/bare-server.ts [port]   (prints one JSON "listening" line)
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const REPLY = Buffer.from('{"ok":true}');

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    res.writeHead(body && body.length > 0 ? 200 : 400, {
      "content-type": "application/json",
      "content-length": REPLY.length,
    });
    res.end(REPLY);
  });
});

server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}/api/webhooks` })}\n`);
});

process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
