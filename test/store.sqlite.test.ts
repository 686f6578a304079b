import { describeStoreConformance } from "./conformance/store-suite.js";
import { sqliteFileTarget } from "./helpers/databases.js";

describeStoreConformance(sqliteFileTarget());
