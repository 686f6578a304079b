export {
  type ClerkApiStandIn,
  type ClerkApiStandInOptions,
  generateData,
  type MembershipInput,
  type OrganizationInput,
  type StandInData,
  type StandInStats,
  startClerkApiStandIn,
  type UserInput,
  type WebhookDelivery,
  type WebhookTarget,
} from "../clerk-api/index.js";
export { FIXTURES_DIR, freshExample, loadExample, newClerkId, setPath } from "./fixtures.js";
export { ksuid } from "./ksuid.js";
export { SCENARIOS, type ScenarioEvent, type ScenarioName, signupScenario } from "./scenario.js";
export { newMessageId, type SignedDelivery, type SignOptions, signDelivery } from "./sign.js";
