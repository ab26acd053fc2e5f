import { setFlagsFromString } from 'node:v8';

/**
 * Sets how far V8 lets the heap grow past what was live after its last full collection
 * (`--heap-growing-percent`; process-wide, worker threads included). V8 reads it whenever it
 * sizes the heap after a collection, so setting it first thing at start-up has the effect of
 * the command-line flag — which a deployment would otherwise have to remember to pass (it
 * is not allowed in `NODE_OPTIONS`). 0 leaves V8's own heuristics.
 *
 * @example
 * applyHeapGrowth(env.HEAP_GROWTH_PERCENT);
 */
export function applyHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0)
    throw new RangeError('heap growth must be a whole percent ≥ 0');
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
