import { describeDeliveryLogConformance } from "./conformance/delivery-log-suite.js";
import { sqliteFileTarget } from "./helpers/databases.js";

describeDeliveryLogConformance(sqliteFileTarget());
