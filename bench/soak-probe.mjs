// Preloaded (`node --import`) into a server under bench/soak.ts: every 250 ms writes the main
// thread's memory figures (process.memoryUsage() and V8's heap statistics) as JSON to the file
// named by CLERK_SYNC_SOAK_PROBE, which the soak reads at each sample. Plain JavaScript, so the
// server under test loads no TypeScript loader (it would weigh on the very figures measured).
import { writeFileSync } from "node:fs";
import { getHeapStatistics } from "node:v8";

const file = process.env.CLERK_SYNC_SOAK_PROBE;
if (file) {
  const write = () => {
    const heap = getHeapStatistics();
    const figures = {
      ...process.memoryUsage(),
      mallocedMemory: heap.malloced_memory,
      peakMallocedMemory: heap.peak_malloced_memory,
      totalHeapSize: heap.total_heap_size,
    };
    try {
      writeFileSync(file, JSON.stringify(figures));
    } catch {
      // The soak removed its folder: nothing to report to.
    }
  };
  write();
  setInterval(write, 250).unref();
}
