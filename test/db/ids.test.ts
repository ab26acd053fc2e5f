import { z } from '@hono/zod-openapi';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeOrderedUuid } from '../../src/db/ids.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('timeOrderedUuid', () => {
  it('makes version-7 UUIDs that sort in the order they were made, whatever the clock does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }), {
          minLength: 1,
          maxLength: 200,
        }),
        (clock) => {
          const ids = clock.map((now) => timeOrderedUuid(now));
          for (const id of ids) expect(id).toMatch(V7);
          expect([...ids].sort()).toEqual(ids);
          expect(new Set(ids).size).toBe(ids.length);
        },
      ),
    );
  });

  it('carries the time it was made, to the millisecond', () => {
    const now = Date.now() + 60_000; // past whatever the test above left behind
    expect(msOf(timeOrderedUuid(now))).toBe(now);
    expect(msOf(timeOrderedUuid(now + 5))).toBe(now + 5);
    expect(new Date(msOf(timeOrderedUuid())).getFullYear()).toBeGreaterThanOrEqual(2026);
  });

  it('stays unique and ordered past 4,096 ids in one millisecond', () => {
    const now = Date.now() + 120_000;
    const ids = Array.from({ length: 10_000 }, () => timeOrderedUuid(now));
    expect(new Set(ids).size).toBe(10_000);
    expect([...ids].sort()).toEqual(ids);
    expect(msOf(ids.at(-1) as string)).toBeGreaterThan(now); // it borrowed the next milliseconds
  });

  it('passes the API schemas’ uuid check', () => {
    expect(z.uuid().safeParse(timeOrderedUuid()).success).toBe(true);
  });
});
