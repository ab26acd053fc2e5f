/** The three states of a {@link CircuitBreaker}. */
export const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

/**
 * Thrown without calling anything while the circuit is open (or its one half-open trial is in
 * flight). Clients translate it into their own vocabulary (e.g. a retry later).
 *
 * @example
 * try {
 *   await breaker.execute(call);
 * } catch (err) {
 *   if (err instanceof CircuitOpenError) return { kind: 'retry', retryAfterMs: breaker.retryInMs };
 *   throw err;
 * }
 */
export class CircuitOpenError extends Error {
  override name = 'CircuitOpenError';
  constructor() {
    super('circuit open');
  }
}

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before it lets one trial call through (default 30_000). */
  openMs?: number;
  /** Clock in milliseconds, injectable for tests (default `Date.now`). */
  now?: () => number;
  /** Called on every state change, after the change. Must not throw. */
  onStateChange?: (to: CircuitState, from: CircuitState) => void;
}

/**
 * A consecutive-failure circuit breaker: closed → open after `failureThreshold` consecutive
 * failures; open rejects immediately with {@link CircuitOpenError} (message `circuit open`)
 * for `openMs`; then half-open lets exactly one
 * trial call through — success closes, failure reopens for another `openMs`.
 *
 * Any rejection of the guarded function counts as a failure; any fulfilment as a success.
 *
 * @example
 * const breaker = new CircuitBreaker({ failureThreshold: 5, openMs: 30_000 });
 * const answer = await breaker.execute(() => callServer());
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly openMs: number;
  #now: () => number;
  #onStateChange: ((to: CircuitState, from: CircuitState) => void) | undefined;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #trialInFlight = false;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 5;
    this.openMs = options.openMs ?? 30_000;
    if (!Number.isInteger(this.failureThreshold) || this.failureThreshold < 1)
      throw new RangeError('failureThreshold must be a positive integer');
    if (!(this.openMs >= 0)) throw new RangeError('openMs must be >= 0');
    this.#now = options.now ?? Date.now;
    this.#onStateChange = options.onStateChange;
  }

  /** The current state; an open circuit whose `openMs` has passed reads (and becomes) half-open. */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.openMs) this.#transition('half-open');
    return this.#state;
  }

  /**
   * Milliseconds until an open circuit half-opens; 0 when it is not open.
   *
   * @example
   * if (breaker.state === 'open') scheduleRetry(breaker.retryInMs);
   */
  get retryInMs(): number {
    if (this.state !== 'open') return 0;
    return Math.max(0, this.openMs - (this.#now() - this.#openedAt));
  }

  /** Consecutive failures counted while closed. */
  get consecutiveFailures(): number {
    return this.#failures;
  }

  /**
   * Runs `fn` if the circuit allows it and records its outcome.
   * @throws {CircuitOpenError} without calling `fn` while open or while the half-open trial runs.
   */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.state;
    if (state === 'open' || (state === 'half-open' && this.#trialInFlight)) throw new CircuitOpenError();
    const trial = state === 'half-open';
    if (trial) this.#trialInFlight = true;
    try {
      const result = await fn();
      this.#recordSuccess();
      return result;
    } catch (err) {
      this.#recordFailure(trial);
      throw err;
    } finally {
      if (trial) this.#trialInFlight = false;
    }
  }

  #recordSuccess(): void {
    this.#failures = 0;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  #recordFailure(trial: boolean): void {
    if (trial || this.#state === 'half-open') {
      this.#open();
      return;
    }
    // A call admitted while closed may end after another one opened the circuit: keep it open.
    if (this.#state === 'open') return;
    this.#failures += 1;
    if (this.#failures >= this.failureThreshold) this.#open();
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#failures = 0;
    this.#transition('open');
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    this.#state = to;
    if (from !== to) this.#onStateChange?.(to, from);
  }
}
