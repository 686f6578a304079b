import { createClerkSyncListener } from "../src/adapters/node.js";
import { describeAdapterConformance } from "./conformance/adapter-suite.js";
import { serveNode } from "./helpers/http-servers.js";

describeAdapterConformance({ name: "node:http", mount: (receiver) => serveNode(createClerkSyncListener(receiver)) });
