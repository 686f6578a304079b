/** The text report of `clerk-sync simulate`. */
import type { RowDifference } from "./compare.js";
import type { SimulationResult } from "./simulate.js";

const MAX_DIFFERENCES = 20;

function cell(value: unknown): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

function formatDifference(d: RowDifference): string[] {
  if (d.actual === null) return [`- ${d.table} ${d.id}: missing from the mirror`];
  if (d.expected === null) return [`+ ${d.table} ${d.id}: in the mirror, not in the in-order result`];
  return [
    `~ ${d.table} ${d.id}:`,
    ...d.columns.map((c) => `    ${c}: expected ${cell(d.expected?.[c])}, mirror ${cell(d.actual?.[c])}`),
  ];
}

/**
 * The report as text: what was sent, the answers, and the mirror's differences (first 20).
 *
 * @example
 * process.stdout.write(formatReport(await simulate(options)));
 */
export function formatReport(result: SimulationResult): string {
  const s = result.send;
  const answers = Object.entries(s.answers)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([answer, n]) => `${answer}: ${n}`)
    .join(", ");
  const lines = [
    `sent ${s.messages} messages to ${s.url} in ${s.attempts} attempts (${s.duplicatesSent} duplicates)`,
    `answers: ${answers || "none"}`,
    `acknowledged ${s.acknowledged}, gave up ${s.gaveUp}${s.pending > 0 ? `, not finished ${s.pending}` : ""}`,
  ];
  for (const r of s.results.filter((r) => r.gaveUp).slice(0, MAX_DIFFERENCES)) {
    lines.push(
      `  gave up ${r.svixId} (${r.type} ${r.objectId}) after ${r.attempts} attempts: last answer ${r.lastAnswer}${r.aborted ? " with abort-message" : ""}`,
    );
  }
  const c = result.comparison;
  if (c !== undefined) {
    if (c.differences.length === 0) lines.push(`mirror: equal to the in-order result (${c.rows} rows compared)`);
    else {
      lines.push(`mirror: ${c.differences.length} of ${c.rows} rows differ from the in-order result`);
      for (const d of c.differences.slice(0, MAX_DIFFERENCES)) lines.push(...formatDifference(d));
      if (c.differences.length > MAX_DIFFERENCES)
        lines.push(`… and ${c.differences.length - MAX_DIFFERENCES} more (--json lists all)`);
    }
  }
  lines.push(result.ok ? "ok" : "FAILED");
  return `${lines.join("\n")}\n`;
}
