export { FIXTURES_DIR, freshExample, loadExample, newClerkId, setPath } from "./fixtures.js";
export { ksuid } from "./ksuid.js";
export { SCENARIOS, type ScenarioEvent, type ScenarioName, signupScenario } from "./scenario.js";
export { newMessageId, type SignedDelivery, type SignOptions, signDelivery } from "./sign.js";
