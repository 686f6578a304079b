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
export {
  type AttemptAnswer,
  applyInOrder,
  compareMirror,
  formatReport,
  generateHistory,
  type HistoryOptions,
  type MessageResult,
  type MirrorComparison,
  type RowDifference,
  readHistoryFile,
  type SendOptions,
  type SendReport,
  type SimulatedMessage,
  type SimulateOptions,
  type SimulationResult,
  SVIX_RETRY_SCHEDULE_MS,
  SVIX_TIMEOUT_MS,
  sendLikeSvix,
  simulate,
} from "../simulate/index.js";
export { FIXTURES_DIR, freshExample, loadExample, newClerkId, setPath } from "./fixtures.js";
export { ksuid } from "./ksuid.js";
export { SCENARIOS, type ScenarioEvent, type ScenarioName, signupScenario } from "./scenario.js";
export { newMessageId, type SignedDelivery, type SignOptions, signDelivery } from "./sign.js";
