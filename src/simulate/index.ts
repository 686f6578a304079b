export { applyInOrder, compareMirror, type MirrorComparison, type RowDifference } from "./compare.js";
export { generateHistory, type HistoryOptions, readHistoryFile, type SimulatedMessage } from "./history.js";
export { formatReport } from "./report.js";
export {
  type AttemptAnswer,
  type MessageResult,
  type SendOptions,
  type SendReport,
  SVIX_RETRY_SCHEDULE_MS,
  SVIX_TIMEOUT_MS,
  sendLikeSvix,
} from "./sender.js";
export { type SimulateOptions, type SimulationResult, simulate } from "./simulate.js";
