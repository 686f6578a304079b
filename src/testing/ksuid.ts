import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KSUID_EPOCH = 1_400_000_000;

/**
 * A KSUID (27 base62 characters: a 4-byte timestamp in seconds, then 16 random bytes), the
 * shape of the ids Clerk (`user_…`, `org_…`, `idn_…`) and Svix (`msg_…`) issue. They sort by
 * creation second, which is what databases see in production: new rows land at the end of
 * their primary-key index, not at random places in it.
 *
 * @example
 * ksuid(); // "2g7np7Hrk0SN6kj5EDMLDaKNL0S"
 * ksuid(Date.UTC(2024, 0, 1), sixteenBytes); // the same bytes, the same id
 */
export function ksuid(nowMs: number = Date.now(), random: Uint8Array = randomBytes(16)): string {
  const bytes = Buffer.alloc(20);
  bytes.writeUInt32BE(Math.max(0, Math.floor(nowMs / 1000) - KSUID_EPOCH), 0);
  bytes.set(random.subarray(0, 16), 4);
  let value = BigInt(`0x${bytes.toString("hex")}`);
  let out = "";
  while (value > 0n) {
    out = ALPHABET[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out.padStart(27, "0");
}
