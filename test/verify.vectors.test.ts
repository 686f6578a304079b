import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ClerkSyncError, type ErrorCode } from "../src/core/errors.js";
import type { HeaderSource } from "../src/core/headers.js";
import {
  computeSignature,
  createVerifier,
  DEFAULT_TOLERANCE_SECONDS,
  decodeSecret,
  parseSecretList,
  type Verifier,
} from "../src/core/verify.js";
import { signDelivery } from "../src/testing/sign.js";

interface Vector {
  secret: string;
  id: string;
  timestamp: number;
  payload: string | null;
  payload_repeat?: { char: string; count: number };
  signature: string;
  expected: "valid" | "invalid";
  source: string;
  note?: string;
}

const vectors = JSON.parse(readFileSync(new URL("../fixtures/svix-vectors.json", import.meta.url), "utf8")) as Vector[];

function vectorPayload(v: Vector): string {
  if (v.payload_repeat) return v.payload_repeat.char.repeat(v.payload_repeat.count);
  if (v.payload === null) throw new Error(`vector ${v.id} has neither payload nor payload_repeat`);
  return v.payload;
}

/** Runs `fn` and returns the ClerkSyncError code it threw; fails if it returned or threw anything else. */
function codeOf(fn: () => unknown): ErrorCode {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ClerkSyncError);
    return (error as ClerkSyncError).code;
  }
  throw new Error("expected a ClerkSyncError, but the call returned");
}

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OTHER_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const THIRD_SECRET = "whsec_plJ3nmyCDGBKInavdOK15jsl";
const T = 1_700_000_000;
const BODY = '{"type":"user.created","data":{"id":"user_1"}}';

function at(seconds: number, extraMs = 0): () => number {
  return () => seconds * 1000 + extraMs;
}

function svixHeaders(id: string, timestamp: number | string, signature: string): Record<string, string> {
  return { "svix-id": id, "svix-timestamp": String(timestamp), "svix-signature": signature };
}

describe("svix / standard-webhooks vectors (fixtures/svix-vectors.json)", () => {
  it("has both valid and invalid vectors", () => {
    expect(vectors.some((v) => v.expected === "valid")).toBe(true);
    expect(vectors.some((v) => v.expected === "invalid")).toBe(true);
  });

  for (const [index, v] of vectors.entries()) {
    const label = `#${index} ${v.expected}: ${v.source.slice(0, 90)}`;
    it(label, () => {
      const verify = createVerifier({ secrets: v.secret, now: at(v.timestamp) });
      const payload = vectorPayload(v);
      const headers = svixHeaders(v.id, v.timestamp, v.signature);
      if (v.expected === "valid") {
        expect(verify(payload, headers)).toEqual({ id: v.id, timestamp: v.timestamp });
        // Same answer on the raw bytes and under the webhook-* header names.
        expect(verify(Buffer.from(payload, "utf8"), headers)).toEqual({ id: v.id, timestamp: v.timestamp });
        const webhookHeaders = {
          "webhook-id": v.id,
          "webhook-timestamp": String(v.timestamp),
          "webhook-signature": v.signature,
        };
        expect(verify(payload, webhookHeaders)).toEqual({ id: v.id, timestamp: v.timestamp });
      } else {
        expect(codeOf(() => verify(payload, headers))).toBe("invalid_signature");
        expect(codeOf(() => verify(Buffer.from(payload, "utf8"), headers))).toBe("invalid_signature");
      }
    });
  }

  it("computeSignature reproduces the vectors' signatures", () => {
    const v = vectors[0]!;
    expect(`v1,${computeSignature(decodeSecret(v.secret), v.id, v.timestamp, vectorPayload(v))}`).toBe(v.signature);
    expect(computeSignature(decodeSecret(v.secret), v.id, String(v.timestamp), Buffer.from(vectorPayload(v)))).toBe(
      v.signature.slice(3),
    );
  });
});

describe("headers", () => {
  const signed = signDelivery({ secret: SECRET, payload: BODY, id: "msg_headers", timestamp: T });
  const verify = createVerifier({ secrets: SECRET, now: at(T) });

  for (const family of ["svix", "webhook"] as const) {
    for (const missing of ["id", "timestamp", "signature"] as const) {
      it(`missing ${family}-${missing} → missing_headers`, () => {
        const { headers } = signDelivery({
          secret: SECRET,
          payload: BODY,
          id: "msg_headers",
          timestamp: T,
          headerPrefix: family,
        });
        const without = { ...headers };
        delete without[`${family}-${missing}`];
        expect(codeOf(() => verify(BODY, without))).toBe("missing_headers");
        expect(codeOf(() => verify(BODY, { ...headers, [`${family}-${missing}`]: "" }))).toBe("missing_headers");
      });
    }
  }

  it("no headers at all → missing_headers", () => {
    expect(codeOf(() => verify(BODY, {}))).toBe("missing_headers");
    expect(codeOf(() => verify(BODY, new Headers()))).toBe("missing_headers");
    expect(codeOf(() => verify(BODY, () => undefined))).toBe("missing_headers");
  });

  it("accepts webhook-* headers (Standard Webhooks)", () => {
    const { body, headers } = signDelivery({
      secret: SECRET,
      payload: BODY,
      id: "msg_std",
      timestamp: T,
      headerPrefix: "webhook",
    });
    expect(headers["svix-id"]).toBeUndefined();
    expect(verify(body, headers)).toEqual({ id: "msg_std", timestamp: T });
    expect(verify(body, new Headers(headers))).toEqual({ id: "msg_std", timestamp: T });
  });

  it("accepts a Web Headers object, a lookup function and a record with mixed-case names", () => {
    const expected = { id: "msg_headers", timestamp: T };
    expect(verify(signed.body, new Headers(signed.headers))).toEqual(expected);
    const lookup: HeaderSource = (name) => signed.headers[name];
    expect(verify(signed.body, lookup)).toEqual(expected);
    const mixedCase = {
      "Svix-Id": signed.headers["svix-id"],
      "SVIX-TIMESTAMP": signed.headers["svix-timestamp"],
      "svix-Signature": signed.headers["svix-signature"],
    };
    expect(verify(signed.body, mixedCase)).toEqual(expected);
  });

  it("returns the id and the timestamp as a number of seconds", () => {
    const result = verify(signed.body, signed.headers);
    expect(result).toEqual({ id: "msg_headers", timestamp: T });
    expect(typeof result.timestamp).toBe("number");
  });
});

describe("timestamp", () => {
  const id = "msg_time";
  const signatureAt = (ts: number) => `v1,${computeSignature(decodeSecret(SECRET), id, ts, BODY)}`;

  for (const bad of ["abc", "123abc", "1.7e9", "1700000000.5", "-1700000000", "+1700000000", " 1700000000", "0x1F"]) {
    it(`non-numeric timestamp ${JSON.stringify(bad)} → invalid_timestamp`, () => {
      const verify = createVerifier({ secrets: SECRET, now: at(T) });
      expect(codeOf(() => verify(BODY, svixHeaders(id, bad, signatureAt(T))))).toBe("invalid_timestamp");
    });
  }

  it("more than 15 digits → invalid_timestamp", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    expect(codeOf(() => verify(BODY, svixHeaders(id, `000000${T}`, signatureAt(T))))).toBe("invalid_timestamp");
  });

  it("leading zeros within 15 digits are the same number of seconds (as the reference libraries parse it)", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    expect(verify(BODY, svixHeaders(id, `0${T}`, signatureAt(T)))).toEqual({ id, timestamp: T });
  });

  it(`is the default tolerance of ${DEFAULT_TOLERANCE_SECONDS} s`, () => {
    expect(DEFAULT_TOLERANCE_SECONDS).toBe(300);
  });

  it("exactly 300 s old passes, even at the end of that second", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T + 300, 999) });
    expect(verify(BODY, svixHeaders(id, T, signatureAt(T)))).toEqual({ id, timestamp: T });
  });

  it("exactly 300 s ahead passes", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T - 300) });
    expect(verify(BODY, svixHeaders(id, T, signatureAt(T)))).toEqual({ id, timestamp: T });
  });

  it("301 s old → timestamp_too_old", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T + 301) });
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, signatureAt(T))))).toBe("timestamp_too_old");
  });

  it("301 s ahead → timestamp_too_new, even at the end of the clock's second", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T - 301, 999) });
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, signatureAt(T))))).toBe("timestamp_too_new");
  });

  it("a stale timestamp is reported before a bad signature", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T + 1000) });
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, "v1,bogus")))).toBe("timestamp_too_old");
  });

  it("honours a custom tolerance", () => {
    const headers = svixHeaders(id, T, signatureAt(T));
    expect(createVerifier({ secrets: SECRET, toleranceSeconds: 10, now: at(T + 10) })(BODY, headers)).toEqual({
      id,
      timestamp: T,
    });
    expect(
      codeOf(() => createVerifier({ secrets: SECRET, toleranceSeconds: 10, now: at(T + 11) })(BODY, headers)),
    ).toBe("timestamp_too_old");
    expect(
      codeOf(() => createVerifier({ secrets: SECRET, toleranceSeconds: 10, now: at(T - 11) })(BODY, headers)),
    ).toBe("timestamp_too_new");
    expect(
      createVerifier({ secrets: SECRET, toleranceSeconds: 3600, now: at(T + 3600) })(BODY, headers).timestamp,
    ).toBe(T);
    expect(codeOf(() => createVerifier({ secrets: SECRET, toleranceSeconds: 0, now: at(T + 1) })(BODY, headers))).toBe(
      "timestamp_too_old",
    );
    expect(createVerifier({ secrets: SECRET, toleranceSeconds: 0, now: at(T, 999) })(BODY, headers).timestamp).toBe(T);
  });

  it("uses Date.now when no clock is injected", () => {
    const verify = createVerifier({ secrets: SECRET });
    const { body, headers, id: freshId } = signDelivery({ secret: SECRET, payload: BODY });
    expect(verify(body, headers).id).toBe(freshId);
  });
});

describe("secrets and key rotation", () => {
  const id = "msg_rotation";
  const sign = (secret: string) => `v1,${computeSignature(decodeSecret(secret), id, T, BODY)}`;

  it("a signature by either of two secrets verifies", () => {
    const verify = createVerifier({ secrets: [SECRET, OTHER_SECRET], now: at(T) });
    expect(verify(BODY, svixHeaders(id, T, sign(SECRET)))).toEqual({ id, timestamp: T });
    expect(verify(BODY, svixHeaders(id, T, sign(OTHER_SECRET)))).toEqual({ id, timestamp: T });
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, sign(THIRD_SECRET))))).toBe("invalid_signature");
  });

  it("a header with several v1 entries verifies if any entry matches any secret", () => {
    const verify = createVerifier({ secrets: [OTHER_SECRET], now: at(T) });
    const header = [sign(THIRD_SECRET), sign(SECRET), sign(OTHER_SECRET), "v1,Zm9vYmFy"].join(" ");
    expect(verify(BODY, svixHeaders(id, T, header))).toEqual({ id, timestamp: T });
    const withoutMatch = [sign(THIRD_SECRET), sign(SECRET), "v1,Zm9vYmFy"].join(" ");
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, withoutMatch)))).toBe("invalid_signature");
  });

  it("only v1 entries count", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    const good = sign(SECRET).slice(3);
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, `v2,${good}`)))).toBe("invalid_signature");
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, good)))).toBe("invalid_signature");
    expect(verify(BODY, svixHeaders(id, T, `v2,${good} v1,${good}`)).id).toBe(id);
  });

  it("rejects a signature whose chars only match in their low byte", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    const good = sign(SECRET).slice(3);
    const lookalike = String.fromCharCode(good.charCodeAt(0) + 0x100) + good.slice(1);
    expect(codeOf(() => verify(BODY, svixHeaders(id, T, `v1,${lookalike}`)))).toBe("invalid_signature");
  });

  it("accepts secrets as one space- or comma-separated string", () => {
    expect(parseSecretList(` ${SECRET}, ${OTHER_SECRET}\n${THIRD_SECRET} ,`)).toEqual([
      SECRET,
      OTHER_SECRET,
      THIRD_SECRET,
    ]);
    const verify = createVerifier({ secrets: `${SECRET},${OTHER_SECRET}`, now: at(T) });
    expect(verify(BODY, svixHeaders(id, T, sign(OTHER_SECRET))).id).toBe(id);
  });

  it("a secret works with and without the whsec_ prefix", () => {
    expect(decodeSecret(SECRET)).toEqual(decodeSecret(SECRET.slice("whsec_".length)));
    const bare = createVerifier({ secrets: SECRET.slice("whsec_".length), now: at(T) });
    expect(bare(BODY, svixHeaders(id, T, sign(SECRET))).id).toBe(id);
    const prefixed = createVerifier({ secrets: SECRET, now: at(T) });
    expect(prefixed(BODY, svixHeaders(id, T, sign(SECRET))).id).toBe(id);
  });

  const invalidSecrets: Array<[string, string | string[]]> = [
    ["empty string", ""],
    ["whitespace only", "   "],
    ["empty list", []],
    ["prefix only", "whsec_"],
    ["non-base64 chars", "whsec_not*base64!"],
    ["base64url alphabet", "whsec_ab-_cd"],
    ["bad padding", "whsec_abc=="],
    ["one bad secret among good ones", [SECRET, "whsec_%%%"]],
  ];
  for (const [label, secrets] of invalidSecrets) {
    it(`invalid secret at construction (${label}) → invalid_secret`, () => {
      expect(codeOf(() => createVerifier({ secrets }))).toBe("invalid_secret");
    });
  }

  it("never echoes the secret in the error message", () => {
    const secret = "whsec_th1s-is-n0t:base64";
    try {
      createVerifier({ secrets: secret });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain("th1s");
    }
  });
});

describe("payload bytes", () => {
  const id = "msg_bytes";

  function bothWays(verify: Verifier, body: string, headers: Record<string, string>): [unknown, unknown, unknown] {
    const run = (payload: Uint8Array | string) => {
      try {
        return verify(payload, headers);
      } catch (error) {
        return (error as ClerkSyncError).code;
      }
    };
    const buffer = Buffer.from(body, "utf8");
    return [run(body), run(buffer), run(new Uint8Array(buffer))];
  }

  it("a Buffer, a Uint8Array and a string give the same answer", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    const body = '{"name":"Zoë 🎉","note":"tab\there"}';
    const signature = `v1,${computeSignature(decodeSecret(SECRET), id, T, body)}`;
    const valid = bothWays(verify, body, svixHeaders(id, T, signature));
    expect(valid).toEqual([
      { id, timestamp: T },
      { id, timestamp: T },
      { id, timestamp: T },
    ]);
    const tampered = bothWays(verify, body.replace("Zoë", "Zoe"), svixHeaders(id, T, signature));
    expect(tampered).toEqual(["invalid_signature", "invalid_signature", "invalid_signature"]);
  });

  it("verifies unicode and escapes on the raw bytes; a re-serialised body fails", () => {
    // Escapes JSON.stringify would rewrite, key spacing, a number form it would normalise.
    const raw =
      '{ "type" : "user.updated",\n  "data": {"first_name":"J\\u00f6rg","emoji":"\\ud83d\\ude00 😀",' +
      '"url":"https:\\/\\/example.com\\/a","amount":1.50,"big":1e3,"ctl":"\\t\\u0000"} }\r\n';
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    const { body, headers } = signDelivery({ secret: SECRET, payload: Buffer.from(raw, "utf8"), id, timestamp: T });
    expect(verify(body, headers)).toEqual({ id, timestamp: T });
    expect(verify(raw, headers)).toEqual({ id, timestamp: T });
    const reserialised = JSON.stringify(JSON.parse(raw));
    expect(reserialised).not.toBe(raw);
    expect(codeOf(() => verify(reserialised, headers))).toBe("invalid_signature");
  });

  it("does not decode the body: bytes that are not UTF-8 are signed and verified as they are", () => {
    const raw = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    const { headers } = signDelivery({ secret: SECRET, payload: raw, id, timestamp: T });
    expect(verify(raw, headers).id).toBe(id);
    // Its lossy UTF-8 decoding is a different byte sequence and must not verify.
    expect(codeOf(() => verify(raw.toString("utf8"), headers))).toBe("invalid_signature");
  });

  it("an empty body can be signed and verified", () => {
    const verify = createVerifier({ secrets: SECRET, now: at(T) });
    const { headers } = signDelivery({ secret: SECRET, payload: "", id, timestamp: T });
    expect(verify("", headers).id).toBe(id);
    expect(codeOf(() => verify(" ", headers))).toBe("invalid_signature");
  });
});
