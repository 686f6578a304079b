/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): top functions by self time and by
 * total (inclusive) time, and self time per module.
 *
 * Usage: node --import tsx bench/profile.ts <file.cpuprofile> [top]
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function shortUrl(url: string): string {
  if (url === "") return "";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf("node_modules/");
  if (nm >= 0) return path.slice(nm + "node_modules/".length);
  const dist = path.indexOf("/dist/");
  if (dist >= 0) return path.slice(dist + 1);
  return path;
}

function moduleOf(url: string): string {
  const short = shortUrl(url);
  if (short === "") return "(native / VM)";
  if (short.startsWith("node:")) return short.split("/").slice(0, 2).join("/");
  if (short.startsWith("dist/")) return short;
  const parts = short.split("/");
  return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? short);
}

/** A readable multi-line summary of where the CPU time went. */
export function summarizeCpuProfile(file: string, top = 20): string {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const key = (node: ProfileNode): string => {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = shortUrl(url);
    return `${functionName || "(anonymous)"}${where ? ` ${where}:${lineNumber + 1}` : ""}`;
  };

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  let all = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    all += dt;
    if (node.callFrame.functionName === "(idle)") idle += dt;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    modules.set(moduleOf(node.callFrame.url), (modules.get(moduleOf(node.callFrame.url)) ?? 0) + dt);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const nk = key(n);
      if (seen.has(nk)) continue;
      seen.add(nk);
      total.set(nk, (total.get(nk) ?? 0) + dt);
    }
  });

  const pct = (us: number) => `${((100 * us) / all).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
  const rows = (map: Map<string, number>, n: number, skip?: (k: string) => boolean) =>
    [...map.entries()]
      .filter(([k]) => !skip?.(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${pct(us)} ${ms(us)}  ${k}`)
      .join("\n");
  const boring = (k: string) => k.startsWith("(root)") || k.startsWith("(program)") || k.startsWith("(idle)");
  return [
    `profile ${file}`,
    `  sampled ${(all / 1000).toFixed(0)} ms, of which idle ${pct(idle).trim()} (waiting on I/O)`,
    "top self time:",
    rows(self, top),
    "top total (inclusive) time:",
    rows(total, top, boring),
    "self time by module:",
    rows(modules, 12),
  ].join("\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write("usage: profile.ts <file.cpuprofile> [top]\n");
    process.exit(2);
  }
  process.stdout.write(`${summarizeCpuProfile(file, Number(process.argv[3] ?? 20))}\n`);
}
