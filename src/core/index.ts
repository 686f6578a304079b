export { GroupCommit } from "./batcher.js";
export {
  type DeleteMode,
  type Delivery,
  type DeliveryResult,
  SyncEngine,
  type SyncEngineOptions,
} from "./engine.js";
export { ClerkSyncError, ERROR_STATUS, type ErrorCode, isClerkSyncError, toStoreError } from "./errors.js";
export * from "./events.js";
export {
  createWebhookHandler,
  DEFAULT_MAX_BODY_BYTES,
  errorReply,
  readBody,
  type WebhookHandler,
  type WebhookHandlerOptions,
  type WebhookInput,
  type WebhookReply,
} from "./handler.js";
export { type HeaderLookup, type HeaderSource, toHeaderLookup } from "./headers.js";
export { type AnyHook, type Hook, type HookContext, typeFilter } from "./hooks.js";
export { type Logger, type LogLevel, silentLogger } from "./logger.js";
export { type ChildSet, type Mutation, mapEvent } from "./mappers.js";
export * from "./schema.js";
export type * from "./store-contract.js";
export {
  applyDelivery,
  applyMutation,
  type BeforeFinish,
  type DeliveryPlan,
  deliveryJob,
  type MutationOutcome,
} from "./sync-rules.js";
export { type ParsedEvent, parseEvent, validateEvent } from "./validate.js";
export {
  computeSignature,
  createVerifier,
  DEFAULT_TOLERANCE_SECONDS,
  decodeSecret,
  parseSecretList,
  type VerifiedDelivery,
  type Verifier,
  type VerifierOptions,
} from "./verify.js";
