/**
 * `clerk-sync/core`: what an app or a custom store needs of the core, and no more. Verification,
 * the event types and their validation, error codes, the Web `Request → Response` handler, the
 * sync engine with its hooks, the table contract, and the engine → store contract for stores of
 * one's own. The engine's internals (group commit, the sync rules, the mappers) stay inside.
 */
export {
  type DeleteMode,
  type Delivery,
  type DeliveryResult,
  type ProcessOptions,
  SyncEngine,
  type SyncEngineOptions,
} from "./engine.js";
export { ClerkSyncError, ERROR_STATUS, type ErrorCode, isClerkSyncError } from "./errors.js";
export * from "./events.js";
export {
  createWebhookHandler,
  DEFAULT_MAX_BODY_BYTES,
  type WebhookHandler,
  type WebhookHandlerOptions,
  type WebhookInput,
  type WebhookReply,
} from "./handler.js";
export type { HeaderLookup, HeaderSource } from "./headers.js";
export type { AnyHook, ForeignClerkEvent, ForeignHook, Hook, HookContext } from "./hooks.js";
export { consoleLogger, type Logger, type LogLevel, silentLogger } from "./logger.js";
export type { ChildSet, Mutation } from "./mappers.js";
export type { BatchObservation, DeliveryObservation, SyncObserver } from "./observer.js";
export * from "./schema.js";
export type * from "./store-contract.js";
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
