/**
 * Verification micro-benchmark, one core: verifications per second of
 *
 *   clerk-sync               createVerifier(...)(body, headers)          (HMAC via node:crypto)
 *   clerk-sync + JSON.parse  the same, then JSON.parse(body)             (what svix's verify also does)
 *   svix                     new Webhook(secret).verify(body, headers)  (svix 1.x, parses JSON after a match)
 *   standardwebhooks         the same with webhook-* headers             (parses JSON after a match)
 *   @clerk/backend           await verifyWebhook(new Request(...), { signingSecret })
 *
 * on Clerk's example `user.created` event (fixtures/clerk-examples/user.created.json) serialised as
 * Svix sends it (compact JSON, ~1.4 KB), as a string, signed with valid `v1` signatures and fresh
 * timestamps: a pool of distinct deliveries is signed at start-up and cycled through. Every call's
 * result is checked, so nothing is optimised away. Each contender is warmed up, then timed in
 * several interleaved rounds; the table shows the median round. The final ratio is the median of
 * the per-round ratios (each round runs the contenders back to back, so machine noise hits both).
 *
 * Usage: node --import tsx bench/verify.ts [--rounds 7] [--ms 400] [--warmup-ms 1000] [--pool 1024]
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { verifyWebhook } from "@clerk/backend/webhooks";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { createVerifier } from "../src/core/verify.js";
import { newMessageId, signDelivery } from "../src/testing/sign.js";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "7" },
    ms: { type: "string", default: "400" },
    "warmup-ms": { type: "string", default: "1000" },
    pool: { type: "string", default: "1024" },
  },
});
const ROUNDS = Number(args.rounds);
const ROUND_MS = Number(args.ms);
const WARMUP_MS = Number(args["warmup-ms"]);
const POOL = Number(args.pool);

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const example = readFileSync(new URL("../fixtures/clerk-examples/user.created.json", import.meta.url), "utf8");
const BODY = JSON.stringify(JSON.parse(example));

interface Prepared {
  id: string;
  svixHeaders: Record<string, string>;
  webhookHeaders: Record<string, string>;
}

// Timestamps are "now" at start-up; the whole run stays well inside the 300 s tolerance.
const pool: Prepared[] = [];
for (let i = 0; i < POOL; i++) {
  const signed = signDelivery({ secret: SECRET, payload: BODY, id: newMessageId() });
  const { headers: webhookHeaders } = signDelivery({
    secret: SECRET,
    payload: BODY,
    id: signed.id,
    timestamp: signed.timestamp,
    headerPrefix: "webhook",
  });
  pool.push({ id: signed.id, svixHeaders: signed.headers, webhookHeaders });
}
const startedAt = Date.now();

function check(ok: boolean, name: string): void {
  if (!ok) throw new Error(`${name}: a verification returned the wrong result`);
}

type SyncOp = (d: Prepared) => void;
type AsyncOp = (d: Prepared) => Promise<void>;
interface Contender {
  name: string;
  sync?: SyncOp;
  async?: AsyncOp;
}

const ours = createVerifier({ secrets: SECRET });
const svix = new SvixWebhook(SECRET);
const standard = new StandardWebhook(SECRET);

const contenders: Contender[] = [
  {
    name: "clerk-sync",
    sync: (d) => check(ours(BODY, d.svixHeaders).id === d.id, "clerk-sync"),
  },
  {
    name: "clerk-sync + JSON.parse",
    sync: (d) => {
      check(ours(BODY, d.svixHeaders).id === d.id, "clerk-sync + JSON.parse");
      check((JSON.parse(BODY) as { type: string }).type === "user.created", "clerk-sync + JSON.parse");
    },
  },
  {
    name: "svix",
    sync: (d) => check((svix.verify(BODY, d.svixHeaders) as { type: string }).type === "user.created", "svix"),
  },
  {
    name: "standardwebhooks",
    sync: (d) =>
      check((standard.verify(BODY, d.webhookHeaders) as { type: string }).type === "user.created", "standardwebhooks"),
  },
  {
    name: "@clerk/backend verifyWebhook",
    async: async (d) => {
      const request = new Request("http://localhost/api/webhooks", {
        method: "POST",
        headers: d.svixHeaders,
        body: BODY,
      });
      const event = await verifyWebhook(request, { signingSecret: SECRET });
      check(event.type === "user.created", "@clerk/backend verifyWebhook");
    },
  },
];

const BATCH = 64;

/** Runs `op` for about `ms` milliseconds; returns operations per second. */
async function measure(contender: Contender, ms: number): Promise<number> {
  const budget = BigInt(Math.round(ms * 1e6));
  let ops = 0;
  let next = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < budget) {
    if (contender.sync) {
      const op = contender.sync;
      for (let i = 0; i < BATCH; i++) {
        op(pool[next]!);
        next = next + 1 === pool.length ? 0 : next + 1;
      }
    } else {
      const op = contender.async!;
      for (let i = 0; i < BATCH; i++) {
        await op(pool[next]!);
        next = next + 1 === pool.length ? 0 : next + 1;
      }
    }
    ops += BATCH;
    elapsed = process.hrtime.bigint() - start;
  }
  return ops / (Number(elapsed) / 1e9);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function main(): Promise<void> {
  console.log(
    `verify benchmark: ${Buffer.byteLength(BODY)} B user.created body, ${POOL} pre-signed deliveries, ` +
      `${ROUNDS} rounds × ${ROUND_MS} ms after ${WARMUP_MS} ms warm-up each`,
  );
  console.log(`node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"}, one core (single thread)\n`);

  for (const c of contenders) await measure(c, WARMUP_MS);

  const results = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no contender always runs first or last.
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(round + k) % contenders.length]!;
      results.get(c.name)!.push(await measure(c, ROUND_MS));
    }
  }
  if ((Date.now() - startedAt) / 1000 > 300) {
    throw new Error("the run outlasted the 300 s tolerance: the timestamps went stale; use fewer or shorter rounds");
  }

  const svixOps = median(results.get("svix")!);
  const rows = contenders.map((c) => {
    const rounds = results.get(c.name)!;
    const med = median(rounds);
    return {
      contender: c.name,
      "ops/s (median)": fmt(med),
      "min–max": `${fmt(Math.min(...rounds))}–${fmt(Math.max(...rounds))}`,
      "µs/op": (1e6 / med).toFixed(2),
      "vs svix": `${(med / svixOps).toFixed(2)}×`,
    };
  });
  console.table(rows);

  // Paired ratios: each round's contenders ran back to back, so a busy machine skews both sides.
  const paired = (name: string) => {
    const svixRounds = results.get("svix")!;
    const ratios = results.get(name)!.map((ops, round) => ops / svixRounds[round]!);
    return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
  };
  const show = (r: { median: number; min: number; max: number }) =>
    `${r.median.toFixed(2)}× (rounds ${r.min.toFixed(2)}–${r.max.toFixed(2)}×)`;
  const ratio = paired("clerk-sync");
  const target = 2.5;
  console.log(`\nper-round paired ratio, clerk-sync / svix:              ${show(ratio)}`);
  console.log(`per-round paired ratio, clerk-sync + JSON.parse / svix: ${show(paired("clerk-sync + JSON.parse"))}`);
  console.log(`target clerk-sync / svix ≥ ${target}×: ${ratio.median >= target ? "met" : "NOT met"}`);
  console.log(`verify: clerk-sync/svix = ${ratio.median.toFixed(2)}×`);
}

await main();
