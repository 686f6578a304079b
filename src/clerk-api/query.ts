/**
 * Ordering and paging as Clerk's list endpoints do it: `order_by` is a field with an optional
 * `+` (ascending) or `-` (descending) prefix; equal values are ordered by id so that a listing is
 * stable; `offset` and `limit` cut the page.
 */

import type { UserJSON } from "../core/events.js";
import { userIdentifier } from "./shapes.js";

/** A parsed `order_by`. */
export interface OrderBy {
  field: string;
  descending: boolean;
}

/** Parses `+field`, `-field` or `field` (ascending); null when the field is not one of `fields`. */
export function parseOrderBy(value: string, fields: readonly string[]): OrderBy | null {
  const descending = value.startsWith("-");
  const field = value.startsWith("-") || value.startsWith("+") ? value.slice(1) : value;
  return fields.includes(field) ? { field, descending } : null;
}

type SortKey = string | number | null | undefined;

function compareKeys(a: SortKey, b: SortKey): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

/** Sorts a copy of `items` by `key`, then by id; a descending order reverses both. */
export function sortBy<T extends { id: string }>(items: Iterable<T>, order: OrderBy, key: (item: T) => SortKey): T[] {
  const sign = order.descending ? -1 : 1;
  return [...items].sort((a, b) => sign * (compareKeys(key(a), key(b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
}

/** One page of a listing and the number of items the listing holds in all. */
export interface Page<T> {
  data: T[];
  total_count: number;
}

/** The `limit` items from `offset` on. */
export function pageOf<T>(items: readonly T[], offset: number, limit: number): Page<T> {
  return { data: items.slice(offset, offset + limit), total_count: items.length };
}

/** The fields users can be ordered by, and each one's sort key. */
export const USER_SORT_KEYS: Record<string, (u: UserJSON) => string | number | null> = {
  created_at: (u) => u.created_at,
  updated_at: (u) => u.updated_at,
  last_active_at: (u) => u.last_active_at,
  last_sign_in_at: (u) => u.last_sign_in_at,
  first_name: (u) => u.first_name,
  last_name: (u) => u.last_name,
  username: (u) => u.username,
  email_address: (u) => userIdentifier(u) || null,
  phone_number: () => null,
  web3wallet: () => null,
};
export const USER_ORDER_FIELDS = Object.keys(USER_SORT_KEYS);
export const ORGANIZATION_ORDER_FIELDS = ["created_at", "name", "members_count"];
export const MEMBERSHIP_ORDER_FIELDS = [
  "created_at",
  "first_name",
  "last_name",
  "email_address",
  "username",
  "phone_number",
];
