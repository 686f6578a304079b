import { clerkSyncHono } from "../src/adapters/hono.js";
import { describeAdapterConformance, WEBHOOK_PATH } from "./conformance/adapter-suite.js";
import { serveHono } from "./helpers/http-servers.js";

describeAdapterConformance({
  name: "hono",
  // app.all: every method reaches the adapter (with app.post, Hono itself answers 404 to a GET).
  mount: (receiver) => serveHono((app) => app.all(WEBHOOK_PATH, clerkSyncHono(receiver))),
  variants: [
    {
      name: "with app.post (as in the docs)",
      mount: (receiver) => serveHono((app) => app.post(WEBHOOK_PATH, clerkSyncHono(receiver))),
    },
    {
      name: "after a middleware that read c.req.json()",
      refuses: "body_already_parsed",
      mount: (receiver) =>
        serveHono((app) => {
          app.use(WEBHOOK_PATH, async (c, next) => {
            await c.req.json();
            await next();
          });
          app.post(WEBHOOK_PATH, clerkSyncHono(receiver));
        }),
    },
  ],
});
