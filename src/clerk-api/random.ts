import { ksuid } from "../testing/ksuid.js";
/**
 * Deterministic randomness for the stand-in's generated data: the same seed gives the same
 * users, organizations and memberships, ids included.
 */

/** A seeded generator of numbers in [0, 1) (mulberry32: small, fast, good enough for test data). */
export type Random = () => number;

/**
 * A seeded random number generator.
 *
 * @example
 * const random = seededRandom(42);
 * random(); // the same sequence for seed 42, every run
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number in [min, max], inclusive. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** One element of a non-empty list. */
export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/**
 * A KSUID (27 base62 characters: a 4-byte timestamp in seconds, then 16 payload bytes) whose
 * payload comes from `random`, so that generated ids are reproducible. Clerk's ids are
 * `prefix_` + a KSUID, which is why they start with `2` since 2021 (`user_2…`).
 *
 * @example
 * `user_${seededKsuid(seededRandom(1), Date.UTC(2024, 0, 1))}`; // "user_2aG…"
 */
export function seededKsuid(random: Random, atMs: number): string {
  return ksuid(
    atMs,
    Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256)),
  );
}
