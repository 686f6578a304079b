export { MIN_TOKEN_LENGTH, SESSION_COOKIE } from "./auth.js";
export {
  createDashboard,
  type DashboardHandler,
  type DashboardOptions,
  type DashboardReplayResult,
} from "./dashboard.js";
