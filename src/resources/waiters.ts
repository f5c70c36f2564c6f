/**
 * The priority queue of acquire() calls waiting for room: higher priority first, FIFO among equals.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import type { ResourceAllocation } from './types.js';

/** A waiting acquire(). */
export interface Waiter {
  readonly memoryMB: number;
  readonly owner: string;
  readonly priority: number;
  readonly resolve: (r: Result<ResourceAllocation, QiError>) => void;
  /** Detaches the abort listener; called once the waiter leaves the queue. */
  detach: () => void;
  /** Lifetime of the allocation it gets, ms (Infinity: until released). */
  readonly ttlMs: number;
}

/** Waiters in admission order. */
export class WaitQueue {
  private readonly items: Waiter[] = [];

  /** How many wait. */
  get size(): number {
    return this.items.length;
  }

  /** The next waiter to admit. */
  peek(): Waiter | undefined {
    return this.items[0];
  }

  /** Inserts after every waiter of equal or higher priority. */
  add(waiter: Waiter): void {
    let index = this.items.length;
    for (; index > 0; index -= 1) {
      const before = this.items[index - 1];
      if (before === undefined || before.priority >= waiter.priority) break;
    }
    this.items.splice(index, 0, waiter);
  }

  /** Removes a waiter; false if it was not queued. */
  remove(waiter: Waiter): boolean {
    const index = this.items.indexOf(waiter);
    if (index < 0) return false;
    this.items.splice(index, 1);
    waiter.detach();
    return true;
  }

  /** Removes and returns every waiter. */
  drain(): Waiter[] {
    const all = this.items.splice(0);
    for (const waiter of all) waiter.detach();
    return all;
  }
}
