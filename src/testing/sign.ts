import { computeSignature, decodeSecret } from "../core/verify.js";
import { ksuid } from "./ksuid.js";

export interface SignOptions {
  /** The signing secret (`whsec_…`). */
  secret: string;
  /** The exact body to send. Objects are serialised with JSON.stringify first. */
  payload: string | Uint8Array | object;
  /** `svix-id`; a fresh `msg_…` id by default. */
  id?: string;
  /** `svix-timestamp` in epoch seconds; now by default. */
  timestamp?: number;
  /** Header family: `svix` (what Clerk sends, default) or `webhook` (Standard Webhooks). */
  headerPrefix?: "svix" | "webhook";
}

/** A signed delivery: the exact body and the headers to send with it. */
export interface SignedDelivery {
  id: string;
  timestamp: number;
  body: string | Uint8Array;
  headers: Record<string, string>;
}

/** A fresh Svix-style message id: `msg_` + a KSUID, as Svix issues them. */
export function newMessageId(): string {
  return `msg_${ksuid()}`;
}

/**
 * Signs a payload as Svix would deliver it, for tests and for `clerk-sync send`.
 *
 * @example
 * const { body, headers } = signDelivery({ secret, payload: event });
 * await fetch(url, { method: "POST", body, headers });
 */
export function signDelivery(options: SignOptions): SignedDelivery {
  const id = options.id ?? newMessageId();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const body =
    typeof options.payload === "string" || options.payload instanceof Uint8Array
      ? options.payload
      : JSON.stringify(options.payload);
  const signature = computeSignature(decodeSecret(options.secret), id, timestamp, body);
  const prefix = options.headerPrefix ?? "svix";
  return {
    id,
    timestamp,
    body,
    headers: {
      "content-type": "application/json",
      [`${prefix}-id`]: id,
      [`${prefix}-timestamp`]: String(timestamp),
      [`${prefix}-signature`]: `v1,${signature}`,
    },
  };
}
