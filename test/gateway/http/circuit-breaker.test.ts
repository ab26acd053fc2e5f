import { describe, expect, it } from 'vitest';
import {
  CircuitBreaker,
  CircuitOpenError,
  type CircuitState,
} from '../../../src/gateway/http/circuit-breaker.js';

function harness(options: { failureThreshold?: number; openMs?: number } = {}) {
  let clock = 1_000_000;
  const changes: Array<[CircuitState, CircuitState]> = [];
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    openMs: 1_000,
    ...options,
    now: () => clock,
    onStateChange: (to, from) => changes.push([from, to]),
  });
  let calls = 0;
  const ok = () =>
    breaker.execute(async () => {
      calls++;
      return 'ok';
    });
  const fail = () =>
    breaker.execute(async () => {
      calls++;
      throw new Error('boom');
    });
  return {
    breaker,
    changes,
    ok,
    fail,
    calls: () => calls,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

async function failTimes(h: ReturnType<typeof harness>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(h.fail()).rejects.toThrow('boom');
}

describe('CircuitBreaker', () => {
  it('stays closed while failures stay under the threshold', async () => {
    const h = harness();
    await failTimes(h, 2);
    expect(h.breaker.state).toBe('closed');
  });

  it('counts only consecutive failures: a success resets the count', async () => {
    const h = harness();
    await failTimes(h, 2);
    await h.ok();
    await failTimes(h, 2);
    expect(h.breaker.state, 'two failures after a success must not open').toBe('closed');
  });

  it('opens after failureThreshold consecutive failures and reports the change', async () => {
    const h = harness();
    await failTimes(h, 3);
    expect(h.breaker.state).toBe('open');
    expect(h.changes).toEqual([['closed', 'open']]);
  });

  it('rejects at once with CircuitOpenError("circuit open") without calling the function while open', async () => {
    const h = harness();
    await failTimes(h, 3);
    const before = h.calls();
    const err = await h.ok().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as Error).name).toBe('CircuitOpenError');
    expect((err as Error).message).toBe('circuit open');
    expect(h.calls(), 'the guarded function must not run while open').toBe(before);
  });

  it('stays open until openMs has passed, then reads half-open', async () => {
    const h = harness();
    await failTimes(h, 3);
    h.advance(999);
    expect(h.breaker.state).toBe('open');
    h.advance(1);
    expect(h.breaker.state).toBe('half-open');
    expect(h.changes).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
    ]);
  });

  it('reports the time left until an open circuit half-opens, and 0 otherwise', async () => {
    const h = harness();
    expect(h.breaker.retryInMs, 'closed').toBe(0);
    await failTimes(h, 3);
    expect(h.breaker.retryInMs).toBe(1_000);
    h.advance(400);
    expect(h.breaker.retryInMs).toBe(600);
    h.advance(600);
    expect(h.breaker.retryInMs, 'half-open').toBe(0);
    expect(h.breaker.state).toBe('half-open');
  });

  it('closes when the half-open trial succeeds', async () => {
    const h = harness();
    await failTimes(h, 3);
    h.advance(1_000);
    await expect(h.ok()).resolves.toBe('ok');
    expect(h.breaker.state).toBe('closed');
    expect(h.changes.at(-1)).toEqual(['half-open', 'closed']);
  });

  it('reopens for another openMs when the half-open trial fails', async () => {
    const h = harness();
    await failTimes(h, 3);
    h.advance(1_000);
    await expect(h.fail()).rejects.toThrow('boom');
    expect(h.breaker.state).toBe('open');
    h.advance(999);
    await expect(h.ok()).rejects.toThrow('circuit open');
    h.advance(1);
    expect(h.breaker.state).toBe('half-open');
  });

  it('lets exactly one trial through while half-open; concurrent calls are rejected', async () => {
    const h = harness();
    await failTimes(h, 3);
    h.advance(1_000);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let trialRuns = 0;
    const trial = h.breaker.execute(async () => {
      trialRuns++;
      await gate;
      return 'trial';
    });
    await expect(h.ok()).rejects.toThrow('circuit open');
    release();
    await expect(trial).resolves.toBe('trial');
    expect(trialRuns).toBe(1);
    expect(h.breaker.state).toBe('closed');
  });

  it('passes the guarded error through unchanged', async () => {
    const h = harness();
    const original = new TypeError('specific');
    await expect(h.breaker.execute(() => Promise.reject(original))).rejects.toBe(original);
  });

  it('uses defaults of 5 failures and 30 s', () => {
    const breaker = new CircuitBreaker();
    expect(breaker.failureThreshold).toBe(5);
    expect(breaker.openMs).toBe(30_000);
    expect(breaker.state).toBe('closed');
  });

  it('refuses a threshold below 1', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(RangeError);
  });
});
