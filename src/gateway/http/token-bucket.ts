/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. `take()` waits
 * until a token is free; used to keep the gateway under the rate a remote system allows.
 *
 * @example
 * const limit = new TokenBucket({ ratePerSecond: 10 });
 * await limit.take(); // then call the remote
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #tokens: number;
  #last: number;

  constructor(options: {
    ratePerSecond: number;
    burst?: number;
    now?: () => number;
    sleep?: (ms: number) => Promise<void>;
  }) {
    if (!(options.ratePerSecond > 0)) throw new RangeError('ratePerSecond must be > 0');
    this.#rate = options.ratePerSecond;
    this.#burst = Math.max(1, options.burst ?? Math.ceil(options.ratePerSecond));
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  /** Milliseconds until a token is free (0 when one is). */
  get waitMs(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) / this.#rate) * 1000);
  }

  /** Takes one token, waiting for it when the bucket is empty. */
  async take(): Promise<void> {
    for (;;) {
      const wait = this.waitMs;
      if (wait === 0) {
        this.#tokens -= 1;
        return;
      }
      await this.#sleep(wait);
    }
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
  }
}
