/**
 * The loop behind every background worker that drains a table-backed queue: run `step`
 * while it finds work, sleep `idleMs` when it does not (or until {@link PollingLoop.nudge}),
 * log a failed step by name and go on. `concurrency` loops run side by side; each `step`
 * must claim its work safely (e.g. `FOR UPDATE SKIP LOCKED`).
 *
 * @example
 * const loop = new PollingLoop({ step: () => worker.processNext(), onError: (e) => log(e) });
 * loop.start();
 */
export class PollingLoop {
  #running = false;
  #loops: Promise<void> | undefined;
  readonly #wakers = new Set<() => void>();

  constructor(
    private readonly options: {
      step: () => Promise<boolean>;
      onError: (err: unknown) => void;
      idleMs?: number;
      concurrency?: number;
    },
  ) {}

  /** Whether the loop is running (a long step may stop early when it is not). */
  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loops = Promise.all(Array.from({ length: this.options.concurrency ?? 1 }, () => this.#run())).then(
      () => {},
    );
  }

  /** Stops after the steps in hand. */
  async stop(): Promise<void> {
    this.#running = false;
    this.nudge();
    await this.#loops;
  }

  /** Wakes sleeping loops now (new work was queued). */
  nudge(): void {
    for (const wake of this.#wakers) wake();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let worked = false;
      try {
        worked = await this.options.step();
      } catch (err) {
        this.options.onError(err);
      }
      if (!this.#running) break;
      if (worked) {
        // PGlite runs on this thread: let queued requests reach the database between steps.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, this.options.idleMs ?? 500);
        this.#wakers.add(wake);
      });
    }
  }
}
