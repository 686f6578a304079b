/**
 * Events and assertions shared by the service's end-to-end tests (test/service.*.e2e.test.ts):
 * example user events and their updates and deletions, a users-row check, and the check that a
 * service's stdout never shows its secret.
 */
import { expect } from "vitest";
import { freshExample } from "../../src/testing/fixtures.js";
import type { ServiceProcess } from "./service-process.js";

export type Event = ReturnType<typeof freshExample>;
export type Row = Record<string, unknown>;

export interface EmailJson {
  id: string;
  email_address: string;
  verification: { status: string; [key: string]: unknown } | null;
  [key: string]: unknown;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function userEvent(type: "user.created" | "user.updated", options: { id?: string; now?: number } = {}): Event {
  return freshExample(type, options);
}

export function emailsOf(event: Event): EmailJson[] {
  return event.data.email_addresses as EmailJson[];
}

/** A user.updated for an existing user: same id, same email ids, a new `updated_at`. */
export function updateOf(created: Event, updatedAt: number, changes: Row = {}): Event {
  const event = userEvent("user.updated", { id: String(created.data.id), now: updatedAt });
  event.data = { ...structuredClone(created.data), ...changes, updated_at: updatedAt };
  return event;
}

/** A user.deleted stub for `id`, its envelope timestamp (the tombstone's version) at `at` ms. */
export function deletionOf(id: string, at: number): Event {
  return freshExample("user.deleted", { id, now: at });
}

/** The service's stdout (every run) shows neither the secret nor its key part. */
export function expectNoSecretInStdout(svc: ServiceProcess, secret = svc.secret): void {
  expect(svc.allStdout).not.toContain(secret);
  expect(svc.allStdout).not.toContain(secret.replace(/^whsec_/, ""));
}

export function expectUserRowMatches(row: Row | undefined, event: Event, primaryEmail: string | null): void {
  const data = event.data;
  expect(row).toBeDefined();
  expect(row).toMatchObject({
    id: data.id,
    version: data.updated_at,
    deleted_at: null,
    external_id: data.external_id ?? null,
    username: data.username ?? null,
    first_name: data.first_name,
    last_name: data.last_name,
    image_url: data.image_url,
    primary_email_address: primaryEmail,
    primary_phone_number: null,
    banned: data.banned ? 1 : 0,
    locked: data.locked ? 1 : 0,
    last_sign_in_at: data.last_sign_in_at,
    last_active_at: data.last_active_at,
    created_at: data.created_at,
    updated_at: data.updated_at,
  });
  const json = (value: unknown) => (value === null || value === undefined ? null : JSON.parse(String(value)));
  expect(json(row?.public_metadata)).toEqual(data.public_metadata ?? null);
  expect(json(row?.private_metadata)).toEqual(data.private_metadata ?? null);
  expect(json(row?.unsafe_metadata)).toEqual(data.unsafe_metadata ?? null);
  expect(json(row?.data)).toEqual(data);
}
