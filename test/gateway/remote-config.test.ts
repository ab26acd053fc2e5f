import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/gateway/http/token-bucket.js';
import { prometheusText } from '../../src/gateway/intake/index.js';
import { PmhCredentialsError, parsePmhTokens } from '../../src/gateway/remote-config.js';

describe('PMH credentials', () => {
  it('gives each tenant and business its own token, and no other', () => {
    const token = parsePmhTokens(
      JSON.stringify({ '130001:jiritsu': 'tokyo-token', '140007:jiritsu': 'kanagawa-token' }),
      'pmh.tokens',
    );
    expect(token('130001', 'jiritsu')).toBe('tokyo-token');
    expect(token('140007', 'jiritsu')).toBe('kanagawa-token');
    expect(token('130001', 'other'), 'no fallback to another business').toBeUndefined();
  });

  it('refuses a single token or a wildcard: PMH files records under the token’s tenant', () => {
    expect(() => parsePmhTokens('a-single-token-1234', 'pmh.token')).toThrow(
      /one PMH client per tenant and business/,
    );
    expect(() => parsePmhTokens('{"*":"any-token-1234"}', 'pmh.token')).toThrow(/bad key/);
    expect(() => parsePmhTokens('{"130001:*":"any-token-1234"}', 'pmh.token')).toThrow(/bad key/);
  });

  it('names the file and the key of a bad entry, never a token', () => {
    const secret = 'sécret token with spaces';
    let message = '';
    try {
      parsePmhTokens(JSON.stringify({ '130001:jiritsu': secret }), '/etc/pmh/tokens.json');
    } catch (err) {
      expect(err).toBeInstanceOf(PmhCredentialsError);
      message = (err as Error).message;
    }
    expect(message).toContain('/etc/pmh/tokens.json');
    expect(message).toContain('130001:jiritsu');
    expect(message).not.toContain(secret);
    // A token pasted where the key goes is not repeated either.
    expect(() => parsePmhTokens(JSON.stringify({ 'tok-en-abcdefgh': 'x' }), 'f')).toThrow(
      /^f: entry 1 has a bad key/,
    );
    try {
      parsePmhTokens(JSON.stringify({ 'tok-en-abcdefgh': 'x' }), 'f');
    } catch (err) {
      expect((err as Error).message).not.toContain('tok-en-abcdefgh');
    }
    expect(() => parsePmhTokens('{"tokyo":"abcdefghij"}', 'f')).toThrow(/bad key/);
    expect(() => parsePmhTokens('{not json', 'f')).toThrow(/not valid JSON/);
  });
});

describe('TokenBucket', () => {
  it('lets a burst through, then paces calls at the rate', async () => {
    let now = 0;
    const slept: number[] = [];
    const bucket = new TokenBucket({
      ratePerSecond: 4,
      burst: 2,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    await bucket.take();
    await bucket.take();
    expect(slept).toEqual([]);
    await bucket.take();
    await bucket.take();
    expect(slept).toEqual([250, 250]);
    expect(now).toBe(500);
  });
});

describe('prometheusText', () => {
  it('exposes the outbox for a scraper, alert included', () => {
    const text = prometheusText({
      depth: 12,
      oldestAgeSeconds: 30.5,
      counts: { queued: 10, sent: 2, accepted: 5, rejected: 1, givenUp: 0 },
      failures: { timeout: 3 },
      circuit: 'open',
      alert: true,
      alerts: ['circuit open'],
    });
    expect(text).toContain('# TYPE pmh_outbox_depth gauge\npmh_outbox_depth 12\n');
    expect(text).toContain('pmh_outbox_records{state="givenUp"} 0');
    expect(text).toContain('pmh_outbox_failed_attempts_total{class="timeout"} 3');
    expect(text).toContain('pmh_outbox_circuit_open 1');
    expect(text).toContain('pmh_outbox_alert 1');
  });
});
