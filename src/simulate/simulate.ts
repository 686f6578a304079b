/**
 * `simulate()`: a local Svix. Sends a history to a receiver as Svix would, then, given the
 * receiver's database, checks that the mirror equals the in-order result.
 */
import type { DeleteMode } from "../core/engine.js";
import { openStore } from "../store/open.js";
import { compareMirror, type MirrorComparison } from "./compare.js";
import { generateHistory, type SimulatedMessage } from "./history.js";
import { type SendOptions, type SendReport, sendLikeSvix } from "./sender.js";

/** Options of {@link simulate}: the sender's, plus the history and the database to check. */
export interface SimulateOptions extends SendOptions {
  /** The messages to send; default a history generated from `seed` with `users` users. */
  history?: readonly SimulatedMessage[];
  /** Users of the generated history (default 50). */
  users?: number;
  /** The receiver's database (`DATABASE_URL`): compare its mirror with the in-order result. */
  databaseUrl?: string;
  /** The receiver's delete mode, for the in-order result (default `soft`). */
  deleteMode?: DeleteMode;
}

/** The outcome of {@link simulate}. */
export interface SimulationResult {
  send: SendReport;
  /** Present when `databaseUrl` was given. */
  comparison?: MirrorComparison;
  /** Every message acknowledged and, when compared, no row differing. */
  ok: boolean;
}

/**
 * Sends a history like Svix and checks the mirror.
 *
 * @example
 * const result = await simulate({
 *   url: "http://127.0.0.1:3000/api/webhooks", secret, users: 100, duplicates: 0.1, reorder: 0.2,
 *   timeScale: 1000, databaseUrl: "postgres://…/app",
 * });
 * if (!result.ok) console.log(formatReport(result));
 */
export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const history = options.history ?? generateHistory({ seed: options.seed ?? 1, users: options.users ?? 50 });
  const send = await sendLikeSvix(history, options);
  let comparison: MirrorComparison | undefined;
  if (options.databaseUrl !== undefined) {
    const mirror = await openStore(options.databaseUrl);
    try {
      comparison = await compareMirror(mirror, history, { deleteMode: options.deleteMode ?? "soft" });
    } finally {
      await mirror.close();
    }
  }
  const ok = send.acknowledged === send.messages && (comparison === undefined || comparison.differences.length === 0);
  return { send, ...(comparison ? { comparison } : {}), ok };
}
