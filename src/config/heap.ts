import { setFlagsFromString } from 'node:v8';

/** Sets a V8 flag (the process's; a test passes its own). */
export type FlagSetter = (flag: string) => void;

let holds = 0;

/**
 * Holds V8's heap growth (`--heap-growing-percent`: how far the heap may grow past what was
 * live after its last full collection) at `percent` until the returned function is called;
 * holds may overlap, and the last release gives V8 its own heuristics back. The flag is
 * process-wide and read whenever V8 sizes the heap after a collection, so it takes effect
 * from the next one. The intake holds it while it processes a linkage file: left to itself V8
 * let promoted garbage grow the heap ~3× there (~310 MB peak RSS for 100,000 rows), while on
 * the lookup paths a tighter heap costs throughput (more full collections). 0 holds nothing.
 *
 * @example
 * const release = holdHeapGrowth(150);
 * try { await processFile(); } finally { release(); }
 */
export function holdHeapGrowth(percent: number, set: FlagSetter = setFlagsFromString): () => void {
  if (!Number.isInteger(percent) || percent < 0)
    throw new RangeError('heap growth must be a whole percent ≥ 0');
  if (percent === 0) return () => {};
  if (holds === 0) set(`--heap-growing-percent=${percent}`);
  holds += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holds -= 1;
    if (holds === 0) set('--heap-growing-percent=0');
  };
}
