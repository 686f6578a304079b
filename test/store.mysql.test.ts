import { describeStoreConformance } from "./conformance/store-suite.js";
import { mysqlTarget } from "./helpers/databases.js";

describeStoreConformance(await mysqlTarget());
