import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { Config } from '../../config/schema.js';
import { checkMemoryBudget } from '../../distribution/budget.js';
import type { TaskDistribution } from '../../distribution/types.js';
import { createCoordinator, type CoordinatorOptions, type MultiAgentCoordinator } from '../../coordinator/coordinator.js';
import type { CoordinationStrategyInput } from '../../schemas/strategy.js';
import { loadTaskFile, type LoadedTaskFile } from '../../tasks/load.js';
import { DEFAULT_PROBE_FILE } from '../../plugins/probe-store.js';
import { mergeStrategy, type StrategyFlags } from '../options.js';
import { logDestination, type OutputMode } from '../output.js';

/** A task file opened for `run`, `plan` or `validate`: the task, a coordinator set up for it, the merged strategy. */
export interface OpenedTask {
  readonly loaded: LoadedTaskFile;
  readonly coordinator: MultiAgentCoordinator;
  readonly strategy: CoordinationStrategyInput;
  readonly config: Config;
}

/**
 * Loads the task file, then a coordinator whose config is found from the task file's folder
 * (or `config`), and merges the strategy: config defaults ← file ← flags.
 */
export async function openTask(file: string, config: string | undefined, flags: StrategyFlags, mode: OutputMode, extra: Pick<CoordinatorOptions, 'journal' | 'executor'> = {}): Promise<Result<OpenedTask, QiError>> {
  const loaded = await loadTaskFile(file);
  if (loaded.tag === 'failure') return loaded;
  const destination = logDestination(mode);
  const where = config === undefined ? { cwd: path.dirname(loaded.value.path) } : { cwd: process.cwd(), configPath: config };
  const created = await createCoordinator({ ...where, ...extra, probeFile: DEFAULT_PROBE_FILE, ...(destination === undefined ? {} : { logDestination: destination }) });
  if (created.tag === 'failure') return created;
  const resolved = await created.value.configuration();
  if (resolved.tag === 'failure') {
    await created.value.close();
    return failure(resolved.error);
  }
  return success({ loaded: loaded.value, coordinator: created.value, strategy: mergeStrategy(resolved.value, loaded.value.strategy, flags), config: resolved.value });
}

/**
 * The distribution `run`, `plan` and `validate` share, so they accept and refuse the same
 * tasks: the coordinator's distributeTask, then subtasks that could never start (memory beyond
 * resources.maxTotalMemory) refused up front.
 */
export async function distributeOpened(opened: OpenedTask): Promise<Result<TaskDistribution, QiError>> {
  const plan = await opened.coordinator.distributeTask(opened.loaded.validated, opened.strategy, { agentId: 'qicoord-cli' });
  if (plan.tag === 'failure') return plan;
  const fits = checkMemoryBudget(plan.value, opened.config);
  return fits.tag === 'failure' ? fits : plan;
}
