/**
 * The book of live allocations: by id, by owner, and the MB they hold together.
 * @module
 */
import type { ResourceAllocation } from './types.js';

interface Entry {
  readonly allocation: ResourceAllocation;
  readonly memoryMB: number;
  readonly cancelExpiry: () => void;
}

/** Live allocations with O(1) add/remove and per-owner lookup. */
export class Ledger {
  private readonly live = new Map<string, Entry>();
  private readonly byOwner = new Map<string, Set<string>>();
  private held = 0;

  /** MB held by live allocations. */
  get usedMB(): number {
    return this.held;
  }

  /** Live allocations. */
  get size(): number {
    return this.live.size;
  }

  /** Records an allocation holding `memoryMB`, with the function that stops its expiry timer. */
  add(allocation: ResourceAllocation, memoryMB: number, cancelExpiry: () => void): void {
    this.live.set(allocation.allocationId, { allocation, memoryMB, cancelExpiry });
    let ids = this.byOwner.get(allocation.agentId);
    if (ids === undefined) this.byOwner.set(allocation.agentId, (ids = new Set()));
    ids.add(allocation.allocationId);
    this.held += memoryMB;
  }

  /** Removes an allocation and stops its timer; false when it is not live. */
  remove(id: string): boolean {
    const entry = this.live.get(id);
    if (entry === undefined) return false;
    entry.cancelExpiry();
    this.live.delete(id);
    const owner = entry.allocation.agentId;
    const ids = this.byOwner.get(owner);
    ids?.delete(id);
    if (ids?.size === 0) this.byOwner.delete(owner);
    // Reset at empty so floating-point residue cannot accumulate.
    this.held = this.live.size === 0 ? 0 : this.held - entry.memoryMB;
    return true;
  }

  /** Ids of the owner's live allocations (a snapshot). */
  idsOf(owner: string): string[] {
    return [...(this.byOwner.get(owner) ?? [])];
  }

  /** Stops every expiry timer (allocations stay recorded). */
  stopTimers(): void {
    for (const entry of this.live.values()) entry.cancelExpiry();
  }
}
