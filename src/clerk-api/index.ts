export {
  type ClerkApiClient,
  type ClerkApiClientOptions,
  type ClerkApiClientStats,
  createClerkApiClient,
  type PageParams,
  type UserFilterParams,
} from "./client.js";
export { type GeneratedData, type GenerateOptions, generateData } from "./generate.js";
export type { Page } from "./query.js";
export { CLERK_DEVELOPMENT_LIMIT, CLERK_PRODUCTION_LIMIT, type RateLimit } from "./rate-limiter.js";
export type { MembershipRecord } from "./shapes.js";
export {
  type ClerkApiStandIn,
  type ClerkApiStandInOptions,
  type StandInStats,
  startClerkApiStandIn,
} from "./stand-in.js";
export type { MembershipInput, OrganizationInput, StandInData, UserInput } from "./state.js";
export { CLERK_API_VERSION, ClerkApiResponseError } from "./transport.js";
export type { OffsetCursor, UsersCursor, WalkPage } from "./walk.js";
export type { WebhookDelivery, WebhookTarget } from "./webhooks.js";
