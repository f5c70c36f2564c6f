import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Config } from '../config/schema.js';
import { qiError } from '../errors/catalogue.js';
import type { TaskDistribution } from './types.js';

/**
 * Subtasks whose agent can never start: it alone asks for more memory than
 * `resources.maxTotalMemory`. A run fails them with INSUFFICIENT_RESOURCES (and, under
 * graceful degradation, runs the rest); the CLI refuses such a plan up front, in `validate`,
 * `plan` and `run` alike, naming the subtask, the key and the fix.
 */
export function checkMemoryBudget(plan: TaskDistribution, config: Pick<Config, 'resources'>): Result<void, QiError> {
  const budget = config.resources.maxTotalMemory;
  const over = plan.subtasks.flatMap((s, i) => {
    const memoryMB = plan.specifications[s.id]?.resourceLimits.maxMemoryMB ?? 0;
    return memoryMB > budget ? [{ path: `task.subtasks[${i}].executionConstraints.maxMemory`, subtask: s.id, memoryMB }] : [];
  });
  if (over.length === 0) return success(undefined);
  const first = over[0]!;
  const message =
    `subtask '${first.subtask}' needs ${first.memoryMB} MB, more than resources.maxTotalMemory (${budget} MB)` +
    `${over.length > 1 ? ` (and ${over.length - 1} more subtask(s))` : ''}, so its agent could never be started. ` +
    `Fix: lower ${first.path} or raise resources.maxTotalMemory in .qicoordrc`;
  return failure(qiError('INSUFFICIENT_RESOURCES', message, { reason: 'memory', budgetMB: budget, issues: over.map((o) => ({ path: o.path, message: `${o.memoryMB} MB > ${budget} MB` })) }));
}
