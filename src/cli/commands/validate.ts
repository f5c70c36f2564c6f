import { success } from '@qi/base';
import type { StrategyFlags } from '../options.js';
import { distributeOpened, openTask } from './open.js';
import { EXIT, printJson, reportFailure, type CommandResult, type OutputMode } from '../output.js';

export const validateHelp = `Usage: qicoord validate FILE [--strategy S] [--max-agents N] [--failure F] [--config C] [--json]

Checks a task file (JSON or YAML) against everything 'run' checks before it starts an agent:
the schema of { task, strategy? }, the subtask DAG (duplicate ids, inputs nothing produces,
unknown ids in dependencies, cycles), the config (found as 'run' finds it), the strategy
(with near-miss suggestions), that a registered agent plugin serves every subtask, and that
every subtask's memory fits in resources.maxTotalMemory. Lists every problem with its path.

Exit codes: 0 valid, 2 invalid or unreadable, 3 the plugins cannot be loaded on this host.`;

export interface ValidateOptions extends StrategyFlags {
  readonly file: string;
  readonly config?: string | undefined;
  readonly mode: OutputMode;
}

export async function validateCommand(o: ValidateOptions): CommandResult {
  const opened = await openTask(o.file, o.config, o, o.mode);
  if (opened.tag === 'failure') return reportFailure(opened, o.mode);
  const { coordinator, loaded } = opened.value;
  // The same distribution `run` and `plan` do: nothing runs, but every check they make is made.
  const plan = await distributeOpened(opened.value);
  await coordinator.close();
  if (plan.tag === 'failure') return reportFailure(plan, o.mode);
  const { task } = loaded;
  const subtasks = task.subtasks?.length ?? 0;
  if (o.mode.json) printJson(success({ valid: true, path: loaded.path, taskId: task.id, subtasks, strategy: plan.value.strategy }));
  else
    process.stdout.write(
      `${loaded.path}: valid — task '${task.id}', ${subtasks === 0 ? `${plan.value.subtasks.length} subtasks after decomposition` : `${subtasks} subtask${subtasks === 1 ? '' : 's'}`}, strategy ${plan.value.strategy.type}, ${plan.value.agentAllocations.length} agent lane(s)\n`,
    );
  return EXIT.ok;
}
