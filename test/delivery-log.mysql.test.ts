import { describeDeliveryLogConformance } from "./conformance/delivery-log-suite.js";
import { mysqlTarget } from "./helpers/databases.js";

describeDeliveryLogConformance(await mysqlTarget());
