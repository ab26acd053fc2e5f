import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv, loadInsurerEnv } from '../../src/config/env.js';
import { applyHeapGrowth } from '../../src/config/heap.js';

describe('HEAP_GROWTH_PERCENT', () => {
  it('defaults to 150 for the gateway and the insurer server alike', () => {
    expect(loadEnv({}).HEAP_GROWTH_PERCENT).toBe(150);
    expect(loadInsurerEnv({ INSURER_TOKEN: 'a-token-of-16-chars' }).HEAP_GROWTH_PERCENT).toBe(150);
  });

  it('takes 0 (V8 decides) and refuses what is not a whole percent', () => {
    expect(loadEnv({ HEAP_GROWTH_PERCENT: '0' }).HEAP_GROWTH_PERCENT).toBe(0);
    for (const bad of ['-1', '1.5', 'lots', '5000']) {
      expect(() => loadEnv({ HEAP_GROWTH_PERCENT: bad })).toThrow(EnvError);
    }
  });

  it('applyHeapGrowth refuses a value the flag cannot take, and takes 0 as "leave V8 alone"', () => {
    expect(() => applyHeapGrowth(-5)).toThrow(RangeError);
    expect(() => applyHeapGrowth(2.5)).toThrow(RangeError);
    expect(() => applyHeapGrowth(0)).not.toThrow();
  });
});
