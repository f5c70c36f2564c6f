/**
 * A counting semaphore with a FIFO wait queue: at most `limit` holders at once; a waiter whose
 * signal aborts leaves the queue without taking a permit.
 */
export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  /** Holders allowed at once. */
  readonly limit: number;

  /** @param limit holders at once; values below 1 count as 1. */
  constructor(limit: number) {
    this.limit = Math.max(1, Math.floor(limit));
  }

  /** Permits held right now. */
  get inFlight(): number {
    return this.active;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Waits for a permit: true once held (call {@link release} later), false if `signal` aborted first. */
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        this.active++;
        resolve(true);
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        resolve(false);
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Returns a permit and hands it to the longest waiter. */
  release(): void {
    this.active = Math.max(0, this.active - 1);
    this.waiters.shift()?.();
  }
}
