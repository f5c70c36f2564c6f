/**
 * Deciding what an allocation gets: the memory and count budget, and which optional parts fit.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { ResourceConstraints } from '../schemas/resources.js';
import type { SizedRequirement } from './request.js';
import type { AllocatedResource, ResourceBudget } from './types.js';

/** Tolerance for floating-point MB sums. */
export const EPSILON_MB = 1e-9;

/** What is held right now. */
export interface Holdings {
  readonly usedMB: number;
  readonly allocations: number;
}

/** The granted part of a request. */
export interface Plan {
  readonly resources: AllocatedResource[];
  readonly memoryMB: number;
}

const round = (mb: number): number => Math.round(mb * 1000) / 1000;

/** INSUFFICIENT_RESOURCES with the numbers: requested, free, and the budget. */
export function insufficient(requestedMB: number, holdings: Holdings, limitMB: number, budget: ResourceBudget, extra: Record<string, unknown> = {}): QiError {
  const freeMB = Math.max(0, limitMB - holdings.usedMB);
  const message =
    `cannot allocate ${round(requestedMB)} MB of memory: ${round(freeMB)} MB free of a ${round(limitMB)} MB limit ` +
    `(budget ${budget.maxTotalMemory} MB; ${round(holdings.usedMB)} MB held by ${holdings.allocations} allocation${holdings.allocations === 1 ? '' : 's'})`;
  return qiError('INSUFFICIENT_RESOURCES', message, { reason: 'memory', requestedMB, freeMB, limitMB, usedMB: holdings.usedMB, budget: { ...budget }, ...extra });
}

/**
 * Plans an allocation. Limits are the tighter of budget and request constraints. Only memory
 * is budgeted; cpu/network/storage are granted as recorded. `required` memory must fit. When
 * sharing is allowed (constraints AND budget `allowSharedResources`), `preferred` and then
 * `optional` memory requirements are added, each in request order, only if they still fit;
 * otherwise every requirement must fit. Granted resources keep the request's order.
 */
export function planAllocation(requirements: readonly SizedRequirement[], constraints: ResourceConstraints, budget: ResourceBudget, holdings: Holdings): Result<Plan, QiError> {
  const limitMB = Math.min(budget.maxTotalMemory, constraints.maxTotalMemory);
  const countLimit = Math.min(budget.maxConcurrentAllocations, constraints.maxConcurrentAllocations);
  if (holdings.allocations >= countLimit) {
    const message = `cannot allocate: ${holdings.allocations} allocations are live, the limit is ${countLimit} (budget ${budget.maxConcurrentAllocations})`;
    return failure(qiError('INSUFFICIENT_RESOURCES', message, { reason: 'allocations', allocations: holdings.allocations, countLimit, budget: { ...budget } }));
  }
  const sharing = constraints.allowSharedResources && budget.allowSharedResources;
  const droppable = (r: SizedRequirement): boolean => sharing && r.type === 'memory' && r.priority !== 'required';
  let memoryMB = 0;
  for (const r of requirements) if (!droppable(r)) memoryMB += r.memoryMB;
  let freeMB = limitMB - holdings.usedMB;
  if (memoryMB > freeMB + EPSILON_MB) return failure(insufficient(memoryMB, holdings, limitMB, budget, { sharing }));
  freeMB -= memoryMB;
  const granted = new Set<SizedRequirement>(requirements.filter((r) => !droppable(r)));
  for (const priority of ['preferred', 'optional'] as const) {
    for (const r of requirements) {
      if (!droppable(r) || r.priority !== priority || r.memoryMB > freeMB + EPSILON_MB) continue;
      granted.add(r);
      freeMB -= r.memoryMB;
      memoryMB += r.memoryMB;
    }
  }
  const resources = requirements.filter((r) => granted.has(r)).map((r) => ({ type: r.type, amount: r.amount, unit: r.unit, location: 'local' }));
  return success({ resources, memoryMB });
}
