import { describeStoreConformance } from "./conformance/store-suite.js";
import { postgresTarget } from "./helpers/databases.js";

describeStoreConformance(await postgresTarget());
