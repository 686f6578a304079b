/**
 * The webhooks the stand-in sends for its mutations: Clerk's envelope around the changed object,
 * signed as Svix signs it, POSTed one after another (in mutation order) to one URL.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ClerkEventType } from "../core/events.js";
import { decodeSecret } from "../core/verify.js";
import { signDelivery } from "../testing/sign.js";

/** Where and how the stand-in delivers webhooks. */
export interface WebhookTarget {
  /** The receiving endpoint, e.g. `http://127.0.0.1:3000/api/webhooks`. */
  url: string;
  /** The signing secret (`whsec_…`). */
  secret: string;
  /** Wait this long after a mutation before delivering its event (default 0), to race the API. */
  delayMs?: number;
}

/** One delivery and how the receiver answered it (`status` null when it could not be reached). */
export interface WebhookDelivery {
  svixId: string;
  type: ClerkEventType;
  objectId: string;
  status: number | null;
}

/** Sends the events of mutations in order, each signed with the target's secret. */
export class WebhookSender {
  readonly deliveries: WebhookDelivery[] = [];
  #chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly target: WebhookTarget,
    private readonly now: () => number,
    private readonly instanceId: string,
  ) {
    decodeSecret(target.secret); // invalid_secret now rather than at the first mutation
  }

  /** Queues the event of one mutation. */
  send(type: ClerkEventType, data: Record<string, unknown>): void {
    const queuedAt = this.now();
    const event = {
      data,
      object: "event",
      type,
      timestamp: queuedAt,
      instance_id: this.instanceId,
      event_attributes: { http_request: { client_ip: "127.0.0.1", user_agent: "clerk-sync stand-in" } },
    };
    this.#chain = this.#chain.then(async () => {
      const wait = queuedAt + (this.target.delayMs ?? 0) - this.now();
      if (wait > 0) await sleep(wait);
      const signed = signDelivery({ secret: this.target.secret, payload: JSON.stringify(event) });
      const delivery: WebhookDelivery = { svixId: signed.id, type, objectId: String(data.id), status: null };
      this.deliveries.push(delivery);
      try {
        const response = await fetch(this.target.url, {
          method: "POST",
          headers: signed.headers,
          body: signed.body as string,
        });
        await response.arrayBuffer();
        delivery.status = response.status;
      } catch {
        delivery.status = null;
      }
    });
  }

  /** Resolves once every queued event has been delivered (or failed). */
  async settled(): Promise<WebhookDelivery[]> {
    let chain: Promise<void>;
    do {
      chain = this.#chain;
      await chain;
    } while (chain !== this.#chain);
    return [...this.deliveries];
  }
}
