// Clerk's published example payloads (fixtures/clerk-examples/, unchanged) against Clerk's own
// types (`WebhookEvent` of @clerk/backend): each example is written as a typed constant and
// compiled, and the examples the types refuse must be exactly the ones docs/clerk-types.md lists.
// When @clerk/backend (or Clerk's examples) change, this fails until the list and the page agree.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EXAMPLES = join(ROOT, "fixtures", "clerk-examples");

/** The examples Clerk's types refuse (docs/clerk-types.md says where and why). */
const REFUSED = [
  "organizationDomain.created",
  "organizationDomain.updated",
  "organizationMembership.created",
  "organizationMembership.deleted",
  "organizationMembership.updated",
  "paymentAttempt.created",
  "paymentAttempt.updated",
  "permission.created",
  "permission.deleted",
  "permission.updated",
  "role.created",
  "role.deleted",
  "role.updated",
  "session.created",
  "session.ended",
  "session.pending",
  "session.removed",
  "session.revoked",
  "sms.created",
  "subscription.active",
  "subscription.created",
  "subscription.pastDue",
  "subscription.updated",
  "subscriptionItem.abandoned",
  "subscriptionItem.active",
  "subscriptionItem.canceled",
  "subscriptionItem.ended",
  "subscriptionItem.freeTrialEnding",
  "subscriptionItem.incomplete",
  "subscriptionItem.pastDue",
  "subscriptionItem.upcoming",
  "subscriptionItem.updated",
  "user.created",
  "user.updated",
  "waitlistEntry.created",
  "waitlistEntry.updated",
];

describe("Clerk's examples against Clerk's types", () => {
  // Inside the repository (.tmp/ is ignored by git) so that `@clerk/backend` resolves from node_modules.
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".tmp", "clerk-types-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("refuse exactly the examples docs/clerk-types.md lists", () => {
    const names = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort();
    expect(names.length).toBeGreaterThan(40);
    let source = [
      'import type { WebhookEvent } from "@clerk/backend";',
      // Clerk's event for one type, narrowed as `if (evt.type === T)` narrows it.
      "type Of<T extends string> = WebhookEvent extends infer W ? (W extends { type: infer U } ? (T extends U ? W & { type: T } : never) : never) : never;",
      "",
    ].join("\n");
    const spans: { name: string; from: number; to: number }[] = [];
    for (const name of names) {
      const example = JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), "utf8")) as { type: string };
      const from = source.length;
      source += `export const e${spans.length}: Of<${JSON.stringify(example.type)}> = ${JSON.stringify(example, null, 1)};\n`;
      spans.push({ name, from, to: source.length });
    }
    const file = join(dir, "examples.ts");
    writeFileSync(file, source);
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      types: [],
    });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file);
    const refused = new Set(
      diagnostics.map((d) => spans.find((s) => (d.start ?? -1) >= s.from && (d.start ?? -1) < s.to)?.name ?? "?"),
    );
    expect([...refused].sort()).toEqual(REFUSED);
    // The accepted ones really were checked: the file names every example.
    expect(spans.map((s) => s.name)).toEqual(names);
  });
});
