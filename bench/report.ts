/** Numbers and summaries as the benchmarks print them. */

/** `n` with thousands separators and a fixed number of decimals (en-US). */
export const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

/** Events/s of each target over the reps: every run's, the best, the median, and the list as printed. */
export function byTarget<T extends string>(runs: readonly { target: T; eventsPerSecond: number }[]) {
  const of = (target: T) => runs.filter((r) => r.target === target).map((r) => r.eventsPerSecond);
  return {
    of,
    best: (target: T) => Math.max(...of(target)),
    median: (target: T) => median(of(target)),
    list: (target: T) =>
      of(target)
        .map((x) => fmt(x))
        .join(", "),
  };
}

const RULE = "=".repeat(100);

/** Prints the summary block: `lines` and the total bench time since `started`, between two rules. */
export function printSummary(lines: readonly string[], started: number): void {
  console.log(`\n${RULE}`);
  for (const line of lines) console.log(line);
  console.log(`total bench time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  console.log(RULE);
}
