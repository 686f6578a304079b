import { createClerkSyncRoute } from "../src/adapters/next.js";
import { describeAdapterConformance } from "./conformance/adapter-suite.js";
import { serveWebHandler } from "./helpers/http-servers.js";

// The route's POST behind a node:http server that hands it a Web Request, as `next start` does.
describeAdapterConformance({
  name: "next",
  mount: (receiver) => {
    const { POST } = createClerkSyncRoute(receiver);
    return serveWebHandler(POST);
  },
});
