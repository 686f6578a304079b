/**
 * The servers under test as child processes of a benchmark: started, waited for, stopped, never
 * left behind (killed on any exit of the benchmark), and their CPU time read from Linux /proc.
 */
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH_DIR);
/** Where the servers under test listen. */
export const HOST = "127.0.0.1";

/** Throws unless `npm run build` has made dist/ (which bin/clerk-sync.js runs). */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) {
    throw new Error("dist/ is missing: run `npm run build` first");
  }
}

/** Node arguments for `clerk-sync serve` on HOST and a free port, under `--cpu-prof` if given a folder. */
export function clerkSyncServeArgv(bin: string, cpuProfDir?: string): string[] {
  return [
    ...(cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${cpuProfDir}`] : []),
    bin,
    "serve",
    "--host",
    HOST,
    "--port",
    "0",
  ];
}

// ---------------------------------------------------------------- children

const children = new Set<ChildProcess>();

/** Runs `node …argv` (this Node binary) as a child that is killed if the benchmark exits first. */
export function spawnNode(argv: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(process.execPath, argv, options);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** SIGKILLs every child still running. */
export function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
}

/**
 * On any exit, kills the children and removes `folder()` (if it names one). On SIGINT / SIGTERM,
 * kills the children, then runs `onSignal` (if given) and exits 130.
 */
export function cleanUpOnExit(options: { folder?: () => string | undefined; onSignal?: () => Promise<void> }): void {
  process.on("exit", () => {
    killAll();
    const folder = options.folder?.();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      if (options.onSignal) void options.onSignal().finally(() => process.exit(130));
      else process.exit(130);
    });
  }
}

/** Runs a benchmark's `main`; on failure kills the children, runs `cleanup`, prints the error, exits 1. */
export function runMain(main: () => Promise<void>, cleanup?: () => Promise<void>): void {
  main().catch(async (error: unknown) => {
    killAll();
    await cleanup?.();
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  });
}

/** A server under test that has said where it listens. */
export interface ListeningChild {
  readonly child: ChildProcess;
  readonly port: number;
  /** The last 4,000 characters the child wrote to stderr. */
  stderr(): string;
}

/**
 * Runs `node …argv` and waits (at most `timeoutMs`) for it to print its JSON `"listening"` line
 * on stdout, as bench's servers and `clerk-sync serve` do; rejects if it exits first.
 */
export function startListening(
  label: string,
  argv: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  timeoutMs: number,
): Promise<ListeningChild> {
  const child = spawnNode(argv, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timeout = setTimeout(
      () => reject(new Error(`${label} did not start within ${timeoutMs / 1000} s\n${stderr}`)),
      timeoutMs,
    );
    const lines = createInterface({ input: child.stdout! });
    child.once("exit", (code, signal) => {
      clearTimeout(timeout);
      reject(new Error(`${label} exited during startup (${code ?? signal})\n${stderr}`));
    });
    lines.on("line", (line) => {
      let entry: { msg?: string; url?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === "listening" && entry.url) {
        clearTimeout(timeout);
        resolve({ child, port: Number(new URL(entry.url).port), stderr: () => stderr });
      }
    });
  });
}

/** `error` with the tail of a server's stderr appended, for the report of a failed run. */
export function withStderr(error: unknown, label: string, stderr: string): Error {
  return new Error(
    `${error instanceof Error ? error.message : String(error)}${stderr ? `\n${label} stderr:\n${stderr}` : ""}`,
  );
}

/** SIGTERMs a child and waits for it to exit, SIGKILLing it after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------- /proc

/** CPU time (user + system, all threads) a process has used so far, in ms (Linux /proc). */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (CLK_TCK = 100)
  } catch {
    return Number.NaN;
  }
}
