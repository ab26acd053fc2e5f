import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from '../../src/config/env.js';
import { holdHeapGrowth } from '../../src/config/heap.js';

describe('INTAKE_HEAP_GROWTH_PERCENT', () => {
  it('defaults to 120, takes 0 (V8 decides) and refuses what is not a whole percent', () => {
    expect(loadEnv({}).INTAKE_HEAP_GROWTH_PERCENT).toBe(120);
    expect(loadEnv({ INTAKE_HEAP_GROWTH_PERCENT: '0' }).INTAKE_HEAP_GROWTH_PERCENT).toBe(0);
    for (const bad of ['-1', '1.5', 'lots', '5000']) {
      expect(() => loadEnv({ INTAKE_HEAP_GROWTH_PERCENT: bad })).toThrow(EnvError);
    }
  });
});

describe('holdHeapGrowth', () => {
  it('sets the growth on the first hold and gives V8 its own back on the last release only', () => {
    const flags: string[] = [];
    const set = (f: string) => flags.push(f);
    const first = holdHeapGrowth(150, set);
    const second = holdHeapGrowth(150, set);
    expect(flags).toEqual(['--heap-growing-percent=150']);
    second();
    second(); // a release counts once
    expect(flags).toEqual(['--heap-growing-percent=150']);
    first();
    expect(flags).toEqual(['--heap-growing-percent=150', '--heap-growing-percent=0']);
  });

  it('holds nothing for 0 and refuses a value the flag cannot take', () => {
    const flags: string[] = [];
    holdHeapGrowth(0, (f) => flags.push(f))();
    expect(flags).toEqual([]);
    expect(() => holdHeapGrowth(-5)).toThrow(RangeError);
    expect(() => holdHeapGrowth(2.5)).toThrow(RangeError);
  });
});
