import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A temp folder for this test file, removed after its tests; returns a function that makes a
 * fresh sub-folder each call.
 */
export function useTempDirs(prefix: string): () => string {
  const root = mkdtempSync(join(tmpdir(), `clerk-sync-${prefix}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return () => mkdtempSync(join(root, `${n++}-`));
}
