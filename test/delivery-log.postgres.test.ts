import { describeDeliveryLogConformance } from "./conformance/delivery-log-suite.js";
import { postgresTarget } from "./helpers/databases.js";

describeDeliveryLogConformance(await postgresTarget());
