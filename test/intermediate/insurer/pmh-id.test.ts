import { describe, expect, it } from 'vitest';
import { newPmhId } from '../../../src/intermediate/insurer/index.js';

describe('newPmhId', () => {
  it('gives 16 Crockford base32 characters, distinct across many ids, using every character', () => {
    const ids = Array.from({ length: 20_000 }, () => newPmhId());
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const seen = new Set(ids.join(''));
    expect(seen.size, 'all 32 symbols occur').toBe(32);
    const firsts = new Set(ids.map((id) => id[0]));
    expect(firsts.size, 'the leading character is random too').toBe(32);
  });
});
