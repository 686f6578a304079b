import type { IncomingMessage } from "node:http";

/** Reads a node:http response body as text. */
export function readText(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      text += chunk;
    });
    res.once("error", reject);
    res.once("end", () => resolve(text));
  });
}
