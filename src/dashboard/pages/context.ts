import type { ClerkSyncStore } from "../../store/store.js";
import type { SafeHtml } from "../html.js";

/** What a page is rendered from. */
export interface PageContext {
  store: ClerkSyncStore;
  /** The dashboard's public prefix, for links (`/dashboard`). */
  prefix: string;
  /** The path under the prefix, split: `/deliveries/msg_1` → `["deliveries", "msg_1"]`. */
  segments: readonly string[];
  query: URLSearchParams;
  /** The session's CSRF token, put into every form that changes something. */
  csrf: string;
  now: number;
  /** Whether this dashboard can replay (it was given a receiver). */
  canReplay: boolean;
}

/** A rendered page: its title, nav section, body; or a status other than 200 (a missing delivery). */
export interface RenderedPage {
  title: string;
  section: string;
  body: SafeHtml;
  status?: number;
}
