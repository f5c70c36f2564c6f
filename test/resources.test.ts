import { describe, expect, it } from 'vitest';
import type { QiError, Result } from '@qi/base';
import { ResourceManager, toMegabytes } from '../src/resources/index.js';
import type { ResourceAllocation, ResourceBudget } from '../src/resources/index.js';
import { err, issueLines, ok } from './helpers.js';

const BUDGET: ResourceBudget = { maxTotalMemory: 1024, maxConcurrentAllocations: 10, allowSharedResources: true };
const NOW = Date.UTC(2030, 0, 1);
const open = { maxTotalMemory: 4096, maxConcurrentAllocations: 100, allowSharedResources: true };
const mem = (amount: number, unit = 'MB', priority = 'required') => ({ type: 'memory', amount, unit, priority });

function manager(budget: Partial<ResourceBudget> = {}, defaultTtlMs?: number): ResourceManager {
  return new ResourceManager({ ...BUDGET, ...budget }, { now: () => NOW, ...(defaultTtlMs === undefined ? {} : { defaultTtlMs }) });
}

/** Records the order in which promises settle. */
function track(order: string[], label: string, p: Promise<Result<ResourceAllocation, QiError>>) {
  return p.then((r) => {
    order.push(label);
    return r;
  });
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ResourceManager.allocate (spec Module 6)', () => {
  it('allocates 128 MB of 512 as one local memory resource and releases it', () => {
    const rm = manager();
    const constraints = { maxTotalMemory: 512, maxConcurrentAllocations: 5, allowSharedResources: true };
    const allocation = ok(rm.allocate([mem(128)], constraints, 'agent-1'));
    expect(allocation.allocationId).toBe('alloc-1');
    expect(allocation.agentId).toBe('agent-1');
    expect(allocation.allocatedResources).toEqual([{ type: 'memory', amount: 128, unit: 'MB', location: 'local' }]);
    expect(allocation.constraints).toEqual(constraints);
    expect(allocation.expiresAt.getTime()).toBe(NOW + 3_600_000);
    expect(rm.usage()).toEqual({ memoryMB: 128, allocations: 1, waiting: 0, budget: BUDGET });
    ok(rm.release(allocation));
    expect(rm.usage().memoryMB).toBe(0);
    rm.close();
  });

  it('refuses 1024 MB of 512 with a RESOURCE error stating requested, free and budget', () => {
    const rm = manager();
    const e = err(rm.allocate([mem(1024)], { maxTotalMemory: 512, maxConcurrentAllocations: 5, allowSharedResources: false }));
    expect(e.category).toContain('RESOURCE');
    expect(e.code).toBe('INSUFFICIENT_RESOURCES');
    expect(e.message).toContain('1024 MB');
    expect(e.message).toContain('512 MB free');
    expect(e.message).toContain('budget 1024 MB');
    expect(e.context).toMatchObject({ requestedMB: 1024, freeMB: 512, limitMB: 512 });
    expect(rm.usage().allocations).toBe(0);
  });

  it('counts memory held by earlier allocations against the tighter limit', () => {
    const rm = manager({ maxTotalMemory: 600 });
    ok(rm.allocate([mem(400)], open));
    const e = err(rm.allocate([mem(300)], open));
    expect(e.context).toMatchObject({ requestedMB: 300, freeMB: 200, limitMB: 600 });
    ok(rm.allocate([mem(200)], open));
    rm.close();
  });

  it('limits the number of live allocations by the tighter of budget and constraints', () => {
    const rm = manager({ maxConcurrentAllocations: 3 });
    const two = { ...open, maxConcurrentAllocations: 2 };
    const first = ok(rm.allocate([mem(1)], two));
    ok(rm.allocate([mem(1)], two));
    expect(err(rm.allocate([mem(1)], two)).context['reason']).toBe('allocations');
    ok(rm.allocate([mem(1)], open));
    expect(err(rm.allocate([mem(1)], open)).code).toBe('INSUFFICIENT_RESOURCES');
    ok(rm.release(first.allocationId));
    ok(rm.allocate([mem(1)], open));
    rm.close();
  });

  it('converts B, KB, MB and GB (binary) and rejects unknown memory units', () => {
    expect(toMegabytes(1, 'GB')).toBe(1024);
    expect(toMegabytes(512, 'KB')).toBe(0.5);
    expect(toMegabytes(1048576, 'B')).toBe(1);
    expect(toMegabytes(1, 'mb')).toBe(1);
    const rm = manager({ maxTotalMemory: 2048 });
    const a = ok(rm.allocate([mem(1, 'GB'), mem(512, 'KB'), mem(1048576, 'B')], open));
    expect(rm.usage().memoryMB).toBe(1025.5);
    expect(a.allocatedResources.map((r) => r.unit)).toEqual(['GB', 'KB', 'B']);
    expect(err(rm.allocate([mem(2, 'GB')], open)).code).toBe('INSUFFICIENT_RESOURCES');
    const e = err(rm.allocate([mem(1), mem(1, 'TB')], open));
    expect(e.code).toBe('INVALID_SPEC');
    expect(issueLines(e)).toEqual(["requirements[1].unit: unknown memory unit 'TB' (expected B, KB, MB, GB)"]);
    rm.close();
  });

  it('records cpu, network and storage without budgeting them', () => {
    const rm = manager({ maxTotalMemory: 10 });
    const reqs = [
      { type: 'cpu', amount: 64, unit: 'cores' },
      { type: 'storage', amount: 5, unit: 'TB' },
      { type: 'network', amount: 10, unit: 'Gbps' },
    ];
    const a = ok(rm.allocate(reqs, open));
    expect(a.allocatedResources).toEqual(reqs.map((r) => ({ ...r, location: 'local' })));
    expect(rm.usage().memoryMB).toBe(0);
    rm.close();
  });

  it('names every invalid path of requirements, constraints and ttl in one INVALID_SPEC', () => {
    const rm = manager();
    const e = err(
      rm.allocate([{ type: 'gpu', amount: -1, unit: 'MB' }, { type: 'memory', amount: 1, unit: 'MB', priorty: 'x' }], { maxTotalMemory: 0, maxConcurrentAllocations: 1.5 }, 'o', 0),
    );
    expect(e.code).toBe('INVALID_SPEC');
    expect(e.category).toBe('VALIDATION');
    const lines = issueLines(e);
    expect(lines.some((l) => l.startsWith('requirements[0].type: expected one of'))).toBe(true);
    expect(lines).toContain('requirements[0].amount: expected a number ≥ 0');
    expect(lines).toContain("requirements[1].priorty: unknown key (did you mean 'priority'?)");
    expect(lines).toContain('constraints.maxTotalMemory: expected a positive number');
    expect(lines.some((l) => l.startsWith('constraints.maxConcurrentAllocations:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('constraints.allowSharedResources: is required'))).toBe(true);
    expect(lines.some((l) => l.startsWith('ttlMs:'))).toBe(true);
    expect(err(rm.allocate('nope', open)).message).toContain('requirements:');
    expect(issueLines(err(rm.allocate([mem(1)], open, 'o', -5)))).toEqual(['ttlMs: expected a positive number of ms, got -5']);
  });
});

describe('ResourceManager: preferred / optional requirements', () => {
  const reqs = [mem(300), mem(300, 'MB', 'optional'), mem(300, 'MB', 'preferred'), { type: 'cpu', amount: 1, unit: 'core', priority: 'optional' }];

  it('leaves out what does not fit when sharing is allowed, preferred before optional', () => {
    const rm = manager({ maxTotalMemory: 700 });
    const a = ok(rm.allocate(reqs, open));
    expect(a.allocatedResources.map((r) => `${r.type}:${r.amount}`)).toEqual(['memory:300', 'memory:300', 'cpu:1']);
    expect(rm.usage().memoryMB).toBe(600);
    rm.close();
  });

  it('requires everything when the constraints do not allow sharing', () => {
    const rm = manager({ maxTotalMemory: 700 });
    const e = err(rm.allocate(reqs, { ...open, allowSharedResources: false }));
    expect(e.context).toMatchObject({ requestedMB: 900, freeMB: 700 });
    rm.close();
  });

  it('requires everything when the budget does not allow sharing', () => {
    const rm = manager({ maxTotalMemory: 700, allowSharedResources: false });
    expect(err(rm.allocate(reqs, open)).code).toBe('INSUFFICIENT_RESOURCES');
    ok(rm.allocate(reqs.slice(0, 2), open));
    rm.close();
  });

  it('still fails when the required part alone does not fit', () => {
    const rm = manager({ maxTotalMemory: 200 });
    expect(err(rm.allocate(reqs, open)).context).toMatchObject({ requestedMB: 300 });
  });
});

describe('ResourceManager.release / releaseOwner / usage', () => {
  it('frees memory and reports NOT_FOUND on a double release or an unknown id', () => {
    const rm = manager();
    const a = ok(rm.allocate([mem(1000)], open));
    expect(err(rm.allocate([mem(100)], open)).code).toBe('INSUFFICIENT_RESOURCES');
    ok(rm.release(a));
    expect(err(rm.release(a)).code).toBe('NOT_FOUND');
    expect(err(rm.release('alloc-999')).code).toBe('NOT_FOUND');
    ok(rm.allocate([mem(100)], open));
    rm.close();
  });

  it('releases every allocation of an owner', () => {
    const rm = manager();
    ok(rm.allocate([mem(100)], open, 'agent-1'));
    ok(rm.allocate([mem(100)], open, 'agent-1'));
    const other = ok(rm.allocate([mem(100)], open, 'agent-2'));
    expect(rm.releaseOwner('agent-1')).toBe(2);
    expect(rm.releaseOwner('agent-1')).toBe(0);
    expect(rm.usage()).toMatchObject({ memoryMB: 100, allocations: 1 });
    ok(rm.release(other));
    expect(rm.usage()).toMatchObject({ memoryMB: 0, allocations: 0, waiting: 0 });
  });

  it('uses deterministic ids', () => {
    const rm = manager();
    const ids = [1, 2, 3].map(() => ok(rm.allocate([], open)).allocationId);
    expect(ids).toEqual(['alloc-1', 'alloc-2', 'alloc-3']);
    rm.close();
  });
});

describe('ResourceManager.acquire', () => {
  it('is admitted at once when it fits', async () => {
    const rm = manager();
    const a = ok(await rm.acquire(256, 'agent-1', 0));
    expect(a.agentId).toBe('agent-1');
    expect(a.allocatedResources).toEqual([{ type: 'memory', amount: 256, unit: 'MB', location: 'local' }]);
    expect(a.constraints).toEqual(BUDGET);
    rm.close();
  });

  it('waits and is admitted on release in priority order, FIFO among equals', async () => {
    const rm = manager();
    const big = ok(rm.allocate([mem(1024)], open));
    const order: string[] = [];
    const low = track(order, 'low', rm.acquire(400, 'low', 1));
    const highA = track(order, 'highA', rm.acquire(400, 'highA', 5));
    const mid = track(order, 'mid', rm.acquire(400, 'mid', 3));
    const highB = track(order, 'highB', rm.acquire(400, 'highB', 5));
    await tick();
    expect(order).toEqual([]);
    expect(rm.usage().waiting).toBe(4);
    ok(rm.release(big));
    const first = ok(await highA);
    ok(await highB);
    await tick();
    expect(order).toEqual(['highA', 'highB']);
    ok(rm.release(first));
    ok(await mid);
    await tick();
    expect(order).toEqual(['highA', 'highB', 'mid']);
    expect(rm.releaseOwner('highB') + rm.releaseOwner('mid')).toBe(2);
    ok(await low);
    expect(order).toEqual(['highA', 'highB', 'mid', 'low']);
    expect(rm.usage()).toMatchObject({ memoryMB: 400, allocations: 1, waiting: 0 });
    rm.close();
  });

  it('waits for a free allocation slot too', async () => {
    const rm = manager({ maxConcurrentAllocations: 1 });
    const only = ok(await rm.acquire(1, 'a', 0));
    const next = rm.acquire(1, 'b', 0);
    await tick();
    expect(rm.usage().waiting).toBe(1);
    ok(rm.release(only));
    expect(ok(await next).agentId).toBe('b');
    rm.close();
  });

  it('fails at once when it can never fit the budget', async () => {
    const rm = manager();
    const e = err(await rm.acquire(2048, 'agent-1', 0));
    expect(e.code).toBe('INSUFFICIENT_RESOURCES');
    expect(e.category).toBe('RESOURCE');
    expect(rm.usage().waiting).toBe(0);
    expect(err(await rm.acquire(-1, 'agent-1', 0)).code).toBe('INVALID_SPEC');
    expect(err(await rm.acquire(1, 'agent-1', Number.NaN)).code).toBe('INVALID_SPEC');
  });

  it('is CANCELLED on abort, and the waiters behind it move up', async () => {
    const rm = manager();
    const hold = ok(rm.allocate([mem(600)], open));
    const controller = new AbortController();
    const blocked = rm.acquire(1000, 'big', 9, controller.signal);
    const small = rm.acquire(100, 'small', 1);
    await tick();
    expect(rm.usage().waiting).toBe(2);
    controller.abort();
    expect(err(await blocked).code).toBe('CANCELLED');
    expect(ok(await small).agentId).toBe('small');
    const pre = new AbortController();
    pre.abort();
    expect(err(await rm.acquire(1, 'x', 0, pre.signal)).code).toBe('CANCELLED');
    ok(rm.release(hold));
    rm.close();
  });
});

describe('ResourceManager: expiry and close', () => {
  it('releases an allocation at expiry and admits a waiter', async () => {
    const rm = manager();
    const a = ok(rm.allocate([mem(1000)], open, 'agent-1', 30));
    expect(a.expiresAt.getTime()).toBe(NOW + 30);
    const waiter = ok(await rm.acquire(500, 'agent-2', 0));
    expect(waiter.agentId).toBe('agent-2');
    expect(err(rm.release(a)).code).toBe('NOT_FOUND');
    expect(rm.usage()).toMatchObject({ memoryMB: 500, allocations: 1 });
    rm.close();
  });

  it('uses the default ttl for acquired allocations', async () => {
    const rm = manager({}, 25);
    const a = ok(await rm.acquire(1000, 'agent-1', 0));
    expect(a.expiresAt.getTime()).toBe(NOW + 25);
    ok(await rm.acquire(1000, 'agent-2', 0));
    expect(err(rm.release(a)).code).toBe('NOT_FOUND');
    rm.close();
  });

  it('close() cancels waiters and refuses new requests; live allocations stay releasable', async () => {
    const rm = manager();
    const a = ok(rm.allocate([mem(1024)], open));
    const one = rm.acquire(10, 'x', 1);
    const two = rm.acquire(10, 'y', 2);
    rm.close();
    expect(err(await one).code).toBe('CANCELLED');
    expect(err(await two).code).toBe('CANCELLED');
    expect(rm.usage().waiting).toBe(0);
    expect(err(rm.allocate([mem(1)], open)).code).toBe('CANCELLED');
    expect(err(await rm.acquire(1, 'z', 0)).code).toBe('CANCELLED');
    ok(rm.release(a));
  });
});
