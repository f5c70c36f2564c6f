/**
 * What a released point resolves with, by point type.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { create, failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { SynchronizationPoint } from '../schemas/strategy.js';
import { reduceContributions } from './reducers.js';
import { findRule } from './rules.js';
import type { DecisionRule, Reducer } from './types.js';

/**
 * One arrival at a point: `entry` is the index of the first participant entry it matched,
 * `seq` the order `arrive` was called in (a checkpoint's save can finish out of call order).
 */
export interface Arrival {
  readonly subtaskId: string;
  readonly agentId: string;
  readonly value: unknown;
  readonly entry: number;
  readonly seq: number;
  readonly at: number;
}

/** Plugin reducers and rules a release may use. */
export interface ReleasePlugins {
  readonly reducers?: ReadonlyMap<string, Reducer> | undefined;
  readonly rules?: ReadonlyMap<string, DecisionRule> | undefined;
}

function paramName(point: SynchronizationPoint, key: 'reducer' | 'rule', fallback: string): string {
  const value = point.condition.parameters[key];
  return typeof value === 'string' ? value : fallback;
}

function decide(point: SynchronizationPoint, arrivals: readonly Arrival[], rules: ReleasePlugins['rules']): Result<unknown, QiError> {
  if (arrivals.length === 0) return success(undefined);
  const name = paramName(point, 'rule', 'majority');
  const rule = findRule(name, rules);
  if (rule === undefined) {
    return failure(qiError('INVALID_SPEC', `decision point '${point.id}' names unknown rule '${name}'; use majority, unanimous, first or a registered plugin rule`, { pointId: point.id, rule: name }));
  }
  const proposers = arrivals.map((a) => a.subtaskId);
  let decided: Result<unknown, QiError>;
  try {
    decided = rule(arrivals.map((a) => a.value));
  } catch (e: unknown) {
    const why = e instanceof Error ? e.message : String(e);
    return failure(qiError('AGENT_ERROR', `decision point '${point.id}': plugin rule '${name}' threw: ${why}; fix the rule plugin`, { pointId: point.id, rule: name, proposers }));
  }
  if (decided.tag === 'success') return decided;
  const e = decided.error;
  return failure(
    create(e.code, `decision point '${point.id}' (rule '${name}', proposers in order: ${proposers.join(', ')}): ${e.message}`, e.category, {
      ...e.context,
      pointId: point.id,
      rule: name,
      proposers,
    }),
  );
}

/**
 * The value every participant of a released point gets: `barrier` → `{ arrived }` (subtask
 * ids, arrival order); `checkpoint` → `{ saved }`; `decision` → the decided value (rule over
 * proposals in arrival order; no proposals → undefined); `aggregation` → the reduced value
 * (values in participant order, ties by arrival order).
 */
export function releaseValue(point: SynchronizationPoint, arrivals: readonly Arrival[], plugins: ReleasePlugins): Result<unknown, QiError> {
  switch (point.type) {
    case 'barrier':
      return success({ arrived: arrivals.map((a) => a.subtaskId) });
    case 'checkpoint':
      return success({ saved: arrivals.map((a) => a.subtaskId) });
    case 'decision':
      return decide(point, arrivals, plugins.rules);
    case 'aggregation': {
      const ordered = [...arrivals].sort((x, y) => x.entry - y.entry || x.seq - y.seq);
      const contributions = ordered.map((a) => ({ participant: a.subtaskId, value: a.value }));
      return reduceContributions(point.id, paramName(point, 'reducer', 'concat'), contributions, plugins.reducers);
    }
  }
}
