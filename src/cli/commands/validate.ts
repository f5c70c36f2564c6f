import { success } from '@qi/base';
import { loadTaskFile } from '../../tasks/load.js';
import { EXIT, exitCodeFor, printError, printJson, type CommandResult } from '../output.js';

export const validateHelp = `Usage: qicoord validate FILE [--json]

Checks a task file (JSON or YAML): the schema of { task, strategy? }, then the subtask DAG
(duplicate ids, inputs nothing produces, unknown ids in dependencies, cycles). Lists every
problem with its path.

Exit codes: 0 valid, 2 invalid or unreadable.`;

export async function validateCommand(file: string, json: boolean): CommandResult {
  const loaded = await loadTaskFile(file);
  if (loaded.tag === 'failure') {
    if (json) printJson(loaded);
    else printError(loaded.error);
    return exitCodeFor(loaded.error);
  }
  const { task, strategy } = loaded.value;
  const subtasks = task.subtasks?.length ?? 0;
  if (json) printJson(success({ valid: true, path: loaded.value.path, taskId: task.id, subtasks, strategy: strategy ?? null }));
  else
    process.stdout.write(
      `${loaded.value.path}: valid — task '${task.id}', ${subtasks === 0 ? 'no subtasks (decomposed at distribution)' : `${subtasks} subtask${subtasks === 1 ? '' : 's'}`}\n`,
    );
  return EXIT.ok;
}
