/**
 * The effective concurrency of a run: the strategy's wish, capped by the plan's
 * `maxConcurrentAgents` and by what the resource budget can ever hold at once. Announced with
 * what caps it, so a run asked for 64 agents that the budget holds to 16 says so.
 * @module
 */

/** What caps a run's concurrency. */
export type ConcurrencyLimit = 'strategy' | 'maxConcurrentAgents' | 'resources.maxConcurrentAllocations' | 'resources.maxTotalMemory';

export interface ConcurrencyInputs {
  /** What the strategy's scheduler asks for now, and why. */
  readonly scheduler: number;
  readonly schedulerReason: string;
  /** The plan's `strategy.maxConcurrentAgents`. */
  readonly maxConcurrentAgents: number;
  /** The resource budget (`resources` in the config). */
  readonly maxConcurrentAllocations: number;
  readonly maxTotalMemoryMB: number;
  /** Memory limit of the largest agent the ready subtasks need, MB. */
  readonly perAgentMB: number;
}

export interface EffectiveConcurrency {
  /** At least 1: a run always makes progress. */
  readonly value: number;
  readonly limitedBy: ConcurrencyLimit;
  /** What the strategy and the plan asked for (before the budget). */
  readonly requested: number;
  readonly reason: string;
}

/** The smallest of the caps wins; on a tie the strategy's own reason is kept. */
export function effectiveConcurrency(o: ConcurrencyInputs): EffectiveConcurrency {
  return withReason(concurrencyCap(o), o);
}

/** A cap (from {@link concurrencyCap} on the same inputs) with its reason written out. */
export function withReason(cap: Omit<EffectiveConcurrency, 'reason'>, o: ConcurrencyInputs): EffectiveConcurrency {
  return { ...cap, reason: explain(cap.limitedBy, cap.value, cap.requested, o) };
}

/**
 * The same figures without the reason: what the run loop asks before every dispatch (no strings,
 * no arrays); the reason is only written out when the value changes.
 */
export function concurrencyCap(o: Omit<ConcurrencyInputs, 'schedulerReason'>): Omit<EffectiveConcurrency, 'reason'> {
  const byMemory = o.perAgentMB > 0 ? Math.floor(o.maxTotalMemoryMB / o.perAgentMB) : Number.POSITIVE_INFINITY;
  let limitedBy: ConcurrencyLimit = 'strategy';
  let value = o.scheduler;
  if (o.maxConcurrentAgents < value) [limitedBy, value] = ['maxConcurrentAgents', o.maxConcurrentAgents];
  if (o.maxConcurrentAllocations < value) [limitedBy, value] = ['resources.maxConcurrentAllocations', o.maxConcurrentAllocations];
  if (byMemory < value) [limitedBy, value] = ['resources.maxTotalMemory', byMemory];
  return { value: Math.max(1, value), limitedBy, requested: Math.max(1, Math.min(o.scheduler, o.maxConcurrentAgents)) };
}

function explain(limit: ConcurrencyLimit, value: number, requested: number, o: ConcurrencyInputs): string {
  switch (limit) {
    case 'resources.maxConcurrentAllocations':
      return `${value} of ${requested} agents: resources.maxConcurrentAllocations is ${o.maxConcurrentAllocations}`;
    case 'resources.maxTotalMemory':
      return `${value} of ${requested} agents: resources.maxTotalMemory ${o.maxTotalMemoryMB} MB holds ${value} agents of ${o.perAgentMB} MB`;
    default:
      return o.schedulerReason;
  }
}
