export { createClerkSyncListener, readNodeBody, sendReply, toNodeListener } from "./adapters/node.js";
export {
  BACKFILL_KINDS,
  type BackfillCounts,
  type BackfillKind,
  type BackfillOptions,
  type BackfillProgress,
  type BackfillResult,
  backfill,
} from "./backfill/backfill.js";
export {
  type ClerkApiClient,
  type ClerkApiClientOptions,
  type ClerkApiClientStats,
  ClerkApiResponseError,
  createClerkApiClient,
} from "./clerk-api/index.js";
export * from "./core/index.js";
export { ensureOrganization, ensureUser, type ReadThroughSource } from "./read-through/ensure.js";
export {
  type ClerkSync,
  type ClerkSyncOptions,
  createClerkSync,
  resolveClerkSync,
} from "./receiver/create-clerk-sync.js";
export {
  RECEIVER_ENVIRONMENT,
  type ReceiverSettingOptions,
  type ReceiverSettings,
  resolveReceiverSettings,
} from "./receiver/receiver-settings.js";
export {
  type ReplayItem,
  type ReplayOptions,
  type ReplayResult,
  type ReplaySelection,
  type ReplayTarget,
  replayDeliveries,
} from "./replay/replay.js";
export { type ConfigFlags, ENVIRONMENT, resolveConfig, type ServiceConfig } from "./server/config.js";
export { loadEnvFiles } from "./server/env-files.js";
export { createJsonLogger } from "./server/log.js";
export { type RunningService, startService } from "./server/service.js";
export * from "./store/index.js";
export { type SyncStatusReport, syncStatus } from "./store/status.js";
