import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { CoordinationStrategy } from '../schemas/strategy.js';
import type { AgentAllocation, CommunicationChannel, FallbackPlan, SynchronizationPlan } from './types.js';

/** Lane pairs (producer → consumer) from the allocations' dependencies. */
function edges(allocations: readonly AgentAllocation[]): [string, string][] {
  return allocations.flatMap((a) => a.dependencies.map((from): [string, string] => [from, a.agentId]));
}

/**
 * The communication channels of the plan, per protocol: `direct` — one channel per producer →
 * consumer lane pair; `message-queue` — one queue per consuming lane, fed by its producers;
 * `event-driven` — one broadcast per producing lane to its consumers, plus one run-wide
 * broadcast. Every lane is in at least the run-wide or its own channels.
 */
export function planChannels(allocations: readonly AgentAllocation[], strategy: CoordinationStrategy): CommunicationChannel[] {
  const pairs = edges(allocations);
  const lanes = allocations.map((a) => a.agentId);
  switch (strategy.communicationProtocol) {
    case 'direct':
      return pairs.map(([from, to]) => ({ id: `direct:${from}->${to}`, type: 'direct', participants: [from, to], protocol: 'direct' }));
    case 'message-queue': {
      const consumers = new Map<string, string[]>();
      for (const [from, to] of pairs) consumers.set(to, [...(consumers.get(to) ?? []), from]);
      return [...consumers].map(([to, from]) => ({ id: `queue:${to}`, type: 'queue', participants: [...from, to], protocol: 'message-queue' }));
    }
    case 'event-driven': {
      const producers = new Map<string, string[]>();
      for (const [from, to] of pairs) producers.set(from, [...(producers.get(from) ?? []), to]);
      const perProducer = [...producers].map(([from, to]): CommunicationChannel => ({ id: `topic:outputs/${from}`, type: 'broadcast', participants: [from, ...to], protocol: 'event-driven' }));
      return [{ id: 'topic:run', type: 'broadcast', participants: lanes, protocol: 'event-driven' }, ...perProducer];
    }
  }
}

/**
 * The synchronization plan: the strategy's points, checked against the run's subtask ids (in a
 * plan, every entry of `participatingAgents` must be '*' or a subtask id; agent ids are for
 * `coordinateAgents` on agents already running).
 */
export function planSynchronization(strategy: CoordinationStrategy, subtaskIds: readonly string[]): Result<SynchronizationPlan, QiError> {
  const known = new Set(subtaskIds);
  const unknown = strategy.synchronizationPoints.flatMap((p, i) =>
    p.participatingAgents.filter((e) => e !== '*' && !known.has(e)).map((e) => ({ path: `strategy.synchronizationPoints[${i}].participatingAgents`, message: `'${e}' is neither '*' nor a subtask id of this task` })),
  );
  if (unknown.length > 0) {
    return failure(qiError('INVALID_TASK', `synchronization points name unknown participants:\n${unknown.map((u) => `${u.path}: ${u.message}`).join('\n')}`, { issues: unknown }));
  }
  return success({ points: strategy.synchronizationPoints });
}

/**
 * The fallback plan; the execution engine carries out each action with the parameters written
 * here, the one source of these figures (execution/failure-policy.ts reads them from the plan).
 * `triggers` are the kinds of failure the actions answer (a failure of another kind fails its
 * subtask at once); each action's `condition` is the one the policy evaluates for it: `timeout`
 * for extend-deadline, `retryable-failure` (a retryable error category) for retry-on-fresh-agent.
 * There is no `reassign-tasks`: lanes are a preference, so the pending work of an agent that
 * died runs on the next idle or new agent of its profile without any action.
 */
export function planFallback(strategy: CoordinationStrategy): FallbackPlan {
  const recovery = strategy.failureHandling;
  const actions = [
    { condition: 'timeout', action: 'extend-deadline', parameters: { maxExtensions: 1, extensionFactor: 1.5 } },
    ...(recovery === 'retry-cascade' ? [{ condition: 'retryable-failure', action: 'retry-on-fresh-agent', parameters: { maxAttempts: 3, baseDelayMs: 100 } }] : []),
  ];
  return { triggers: ['agent-failure', 'timeout', 'resource-exhaustion'], actions: recovery === 'fail-fast' ? [] : actions, recoveryStrategy: recovery };
}
