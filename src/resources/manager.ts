/**
 * The coordinator's resource manager: the spec's ResourceManager, with a real budget.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { ResourceConstraints } from '../schemas/resources.js';
import { scheduleExpiry } from './expiry.js';
import { EPSILON_MB, insufficient, planAllocation } from './plan.js';
import type { Holdings, Plan } from './plan.js';
import { Ledger } from './ledger.js';
import { parseRequest } from './request.js';
import type { AcquireOptions, AllocatedResource, ResourceAllocation, ResourceBudget, ResourceManagerOptions, ResourceUsageSummary } from './types.js';
import type { Waiter } from './waiters.js';
import { WaitQueue } from './waiters.js';

const HOUR_MS = 3_600_000;
/** `expiresAt` of an allocation held until it is released (the largest Date). */
const NEVER = 8.64e15;
const closedError = (): QiError => qiError('CANCELLED', 'the resource manager is closed');

/**
 * Holds live allocations against a budget of memory (MB) and allocation count. Only memory
 * requirements are budgeted: cpu, network and storage requirements are recorded in
 * `allocatedResources` (location `'local'`) but nothing limits them. Every allocation expires
 * (released automatically, waiters admitted) `ttlMs` after it is made. Ids are `alloc-<n>`.
 */
export class ResourceManager {
  private readonly budget: ResourceBudget;
  private readonly now: () => number;
  private readonly defaultTtlMs: number;
  private readonly ledger = new Ledger();
  private readonly waiters = new WaitQueue();
  private counter = 0;
  private closed = false;

  /**
   * @param budget the config's `resources` (already validated by the config schema); copied and frozen.
   * @param options clock for `expiresAt` and the default allocation lifetime (one hour).
   * @throws RangeError when `defaultTtlMs` is given and is not a positive finite number (a programming error).
   */
  constructor(budget: ResourceBudget, options: ResourceManagerOptions = {}) {
    this.budget = Object.freeze({ ...budget });
    this.now = options.now ?? Date.now;
    this.defaultTtlMs = options.defaultTtlMs ?? HOUR_MS;
    if (!(Number.isFinite(this.defaultTtlMs) && this.defaultTtlMs > 0)) throw new RangeError('ResourceManager: defaultTtlMs must be a positive number');
  }

  /**
   * Allocates at once or fails. `requirements` (ResourceRequirement[]) and `constraints`
   * (ResourceConstraints) are validated by zod (INVALID_SPEC naming each path). Memory (B, KB,
   * MB, GB) must fit in the tighter of budget and constraints `maxTotalMemory`, and the live
   * count under the tighter `maxConcurrentAllocations`, else INSUFFICIENT_RESOURCES (RESOURCE)
   * stating requested, free and budget. With `allowSharedResources` true in both constraints
   * and budget, preferred/optional memory that does not fit is left out of the allocation;
   * otherwise all must fit. It does not queue and may take room a waiting acquire() wants.
   */
  allocate(requirements: unknown, constraints: unknown, owner = 'coordinator', ttlMs?: number): Result<ResourceAllocation, QiError> {
    if (this.closed) return failure(closedError());
    const request = parseRequest(requirements, constraints, ttlMs ?? this.defaultTtlMs);
    if (request.tag === 'failure') return request;
    const { requirements: reqs, constraints: cons, ttlMs: ttl } = request.value;
    const plan = planAllocation(reqs, cons, this.budget, this.holdings());
    return plan.tag === 'failure' ? plan : success(this.commit(owner, plan.value, cons, ttl));
  }

  /**
   * Waits for `memoryMB` for a spawning agent: admitted by priority (higher first, FIFO among
   * equals; the head blocks those behind it) once memory and count fit the budget. Fails at once
   * with INSUFFICIENT_RESOURCES when it can never fit, INVALID_SPEC for a bad number, and with
   * CANCELLED on abort or close. Its lifetime is the default ttl, or with `untilReleased` as long
   * as its holder keeps it (an agent's allocation lives as long as the agent; `expiresAt` is then
   * the largest Date).
   */
  acquire(memoryMB: number, owner: string, priority: number, signal?: AbortSignal, options: AcquireOptions = {}): Promise<Result<ResourceAllocation, QiError>> {
    if (this.closed) return Promise.resolve(failure(closedError()));
    if (!(Number.isFinite(memoryMB) && memoryMB >= 0) || !Number.isFinite(priority)) {
      const message = `acquire needs memoryMB ≥ 0 and a finite priority (got ${String(memoryMB)}, ${String(priority)})`;
      return Promise.resolve(failure(qiError('INVALID_SPEC', message, { memoryMB, priority })));
    }
    if (memoryMB > this.budget.maxTotalMemory + EPSILON_MB) {
      return Promise.resolve(failure(insufficient(memoryMB, this.holdings(), this.budget.maxTotalMemory, this.budget, { never: true })));
    }
    if (signal?.aborted === true) return Promise.resolve(failure(qiError('CANCELLED', `acquire for '${owner}' was aborted`, { owner })));
    return new Promise((resolve) => {
      const ttlMs = options.untilReleased === true ? Number.POSITIVE_INFINITY : this.defaultTtlMs;
      const waiter: Waiter = { memoryMB, owner, priority, resolve, detach: () => undefined, ttlMs };
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (!this.waiters.remove(waiter)) return;
          resolve(failure(qiError('CANCELLED', `acquire for '${owner}' was aborted`, { owner })));
          this.admit();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiters.add(waiter);
      this.admit();
    });
  }

  /** Releases an allocation (or its id) and admits waiters; NOT_FOUND when unknown or already released. */
  release(allocationOrId: ResourceAllocation | string): Result<void, QiError> {
    const id = typeof allocationOrId === 'string' ? allocationOrId : allocationOrId.allocationId;
    if (!this.ledger.remove(id)) return failure(qiError('NOT_FOUND', `allocation '${id}' is not live (unknown, released or expired)`, { allocationId: id }));
    this.admit();
    return success(undefined);
  }

  /** Releases every allocation of `owner` (agent exit); returns how many. */
  releaseOwner(owner: string): number {
    const ids = this.ledger.idsOf(owner);
    for (const id of ids) this.ledger.remove(id);
    if (ids.length > 0) this.admit();
    return ids.length;
  }

  /** Memory and allocations held now, waiting acquires, and the budget. */
  usage(): ResourceUsageSummary {
    return { memoryMB: this.ledger.usedMB, allocations: this.ledger.size, waiting: this.waiters.size, budget: this.budget };
  }

  /** Waiting acquires fail with CANCELLED, expiry timers stop, later allocate/acquire fail; live allocations stay releasable. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.drain()) waiter.resolve(failure(closedError()));
    this.ledger.stopTimers();
  }

  private commit(owner: string, plan: Plan, constraints: ResourceConstraints, ttlMs: number): ResourceAllocation {
    this.counter += 1;
    const allocationId = `alloc-${this.counter}`;
    const resources: readonly AllocatedResource[] = Object.freeze(plan.resources.map((r) => Object.freeze(r)));
    const allocation: ResourceAllocation = Object.freeze({
      allocationId,
      agentId: owner,
      allocatedResources: resources,
      constraints: Object.freeze({ ...constraints }),
      expiresAt: new Date(Number.isFinite(ttlMs) ? this.now() + ttlMs : NEVER),
    });
    const cancelExpiry = Number.isFinite(ttlMs)
      ? scheduleExpiry(ttlMs, () => {
          if (this.ledger.remove(allocationId)) this.admit();
        })
      : () => undefined;
    this.ledger.add(allocation, plan.memoryMB, cancelExpiry);
    return allocation;
  }

  private holdings(): Holdings {
    return { usedMB: this.ledger.usedMB, allocations: this.ledger.size };
  }

  /** Admits waiters from the head while the head fits. */
  private admit(): void {
    const { maxTotalMemory, maxConcurrentAllocations, allowSharedResources } = this.budget;
    for (let head = this.waiters.peek(); head !== undefined && !this.closed; head = this.waiters.peek()) {
      if (this.ledger.size >= maxConcurrentAllocations || this.ledger.usedMB + head.memoryMB > maxTotalMemory + EPSILON_MB) return;
      this.waiters.remove(head);
      const plan: Plan = { resources: [{ type: 'memory', amount: head.memoryMB, unit: 'MB', location: 'local' }], memoryMB: head.memoryMB };
      head.resolve(success(this.commit(head.owner, plan, { maxTotalMemory, maxConcurrentAllocations, allowSharedResources }, head.ttlMs)));
    }
  }
}
