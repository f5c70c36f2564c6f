/**
 * Built-in decision rules: `majority` (default), `unanimous`, `first`.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { canonicalJson, preview } from './canonical.js';
import type { DecisionRule } from './types.js';

interface Tally {
  readonly value: unknown;
  readonly first: number;
  count: number;
}

/** Groups deep-equal proposals (by canonical JSON), keeping each group's first index. */
function tally(proposals: readonly unknown[]): Tally[] {
  const groups = new Map<string, Tally>();
  proposals.forEach((value, index) => {
    const key = canonicalJson(value);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { value, first: index, count: 1 });
    else group.count++;
  });
  return [...groups.values()];
}

/**
 * The value proposed most often (deep-equal by canonical JSON); a tie goes to the value whose
 * first proposal came earliest. No proposals decide `undefined`.
 */
export const majorityRule: DecisionRule = (proposals) => {
  let best: Tally | undefined;
  for (const group of tally(proposals)) {
    if (best === undefined || group.count > best.count || (group.count === best.count && group.first < best.first)) {
      best = group;
    }
  }
  return success(best?.value);
};

/**
 * The common value when every proposal is deep-equal. Otherwise fails with `AGENT_ERROR`:
 * the agents' own results disagree, a business outcome of the run — not a malformed spec
 * (`INVALID_SPEC`), a timeout (`SYNC_TIMEOUT`) or a cancellation (`CANCELLED`).
 */
export const unanimousRule: DecisionRule = (proposals): Result<unknown, QiError> => {
  const groups = tally(proposals);
  if (groups.length <= 1) return success(groups[0]?.value);
  const counts = groups.map((g) => `${g.count} × ${preview(g.value)}`).join(', ');
  return failure(
    qiError(
      'AGENT_ERROR',
      `the proposals are not unanimous (${counts}); make the agents agree, or use rule 'majority' or 'first'`,
      { distinctProposals: groups.length },
    ),
  );
};

/** The first proposal (in arrival order). */
export const firstRule: DecisionRule = (proposals) => success(proposals[0]);

/** The built-in decision rules by name. */
export const BUILTIN_RULES: ReadonlyMap<string, DecisionRule> = new Map<string, DecisionRule>([
  ['majority', majorityRule],
  ['unanimous', unanimousRule],
  ['first', firstRule],
]);

/** The rule a decision point uses: built-ins first, then plugin rules; undefined when unknown. */
export function findRule(name: string, plugins?: ReadonlyMap<string, DecisionRule>): DecisionRule | undefined {
  return BUILTIN_RULES.get(name) ?? plugins?.get(name);
}
