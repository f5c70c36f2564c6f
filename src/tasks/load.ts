import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { buildTaskGraph, type TaskGraph } from '../dag/graph.js';
import { deepFreeze } from '../util/objects.js';
import { qiError } from '../errors/catalogue.js';
import { parseInput } from '../schemas/issues.js';
import type { PartialCoordinationStrategy } from '../schemas/strategy.js';
import type { DistributedTask } from '../schemas/task.js';
import { DistributedTask as DistributedTaskSchema, TaskFile } from '../schemas/task.js';

/**
 * A task that passed validation (schema, then DAG), deeply frozen, with the DAG built while
 * checking it (undefined when the task lists no subtasks). Only this module makes one (the
 * private field cannot be forged), so a holder may pass it on — to `distributeTask` — without
 * a second validation.
 */
export class ValidatedTask {
  readonly #validated = true;

  /** @internal made by {@link parseTask} and {@link loadTaskFile} only. */
  private constructor(
    readonly task: DistributedTask,
    readonly graph: TaskGraph | undefined,
  ) {
    Object.freeze(this);
  }

  /** True for a ValidatedTask made by this module (not a look-alike object). */
  static is(value: unknown): value is ValidatedTask {
    return typeof value === 'object' && value !== null && #validated in value && (value as ValidatedTask).#validated;
  }

  /** @internal */
  static of(task: DistributedTask, graph: TaskGraph | undefined): ValidatedTask {
    return new ValidatedTask(task, graph);
  }
}

/** A validated task file. */
export interface LoadedTaskFile {
  readonly task: DistributedTask;
  /** The task with its DAG, as {@link parseTask} returns it: hand it to `distributeTask` as is. */
  readonly validated: ValidatedTask;
  readonly strategy?: PartialCoordinationStrategy;
  /** Absolute path of the file. */
  readonly path: string;
}

/**
 * js-yaml, loaded on the first YAML text (synchronously, so parsing stays synchronous): JSON
 * task files and tasks passed as objects never load it.
 */
function yamlParser(): typeof import('js-yaml') {
  return createRequire(import.meta.url)('js-yaml') as typeof import('js-yaml');
}

/** Parses JSON or YAML text; the format comes from the extension (`.json`, `.yaml`, `.yml`), else JSON is tried first. */
export function parseTaskText(text: string, filename: string): Result<unknown, QiError> {
  const ext = path.extname(filename).toLowerCase();
  const asJson = (): Result<unknown, QiError> => {
    try {
      return success(JSON.parse(text) as unknown);
    } catch (e) {
      return failure(syntaxError(filename, e));
    }
  };
  const asYaml = (): Result<unknown, QiError> => {
    try {
      const yaml = yamlParser();
      return success(yaml.load(text, { filename, schema: yaml.CORE_SCHEMA }));
    } catch (e) {
      return failure(syntaxError(filename, e));
    }
  };
  if (ext === '.json') return asJson();
  if (ext === '.yaml' || ext === '.yml') return asYaml();
  const json = asJson();
  return json.tag === 'success' ? json : asYaml();
}

function syntaxError(filename: string, e: unknown): QiError {
  const reason = e instanceof Error ? e.message : String(e);
  return qiError('INVALID_TASK', `task file ${filename} is not valid JSON or YAML: ${reason}`, {
    filepath: filename,
    issues: [{ path: '(file)', message: reason }],
  });
}

/** Fills what the task level implies for its subtasks (their parentTaskId). */
function completeTask(task: DistributedTask): DistributedTask {
  if (task.subtasks === undefined) return task;
  return { ...task, subtasks: task.subtasks.map((s) => (s.parentTaskId === undefined ? { ...s, parentTaskId: task.id } : s)) };
}

/**
 * Validates a DistributedTask given as an object (an embedding host's, or a file's `task`):
 * the schema, then — when it has subtasks — the DAG. Every problem is named by its path. A
 * {@link ValidatedTask} is returned as it is.
 */
export function parseTask(input: unknown, what = 'task', root = 'task'): Result<ValidatedTask, QiError> {
  if (ValidatedTask.is(input)) return success(input);
  const parsed = parseInput(DistributedTaskSchema, input, { code: 'INVALID_TASK', what, root });
  return parsed.tag === 'failure' ? parsed : checkTask(parsed.value, what, root);
}

/** The checks past the schema: subtasks' parentTaskId filled, then the DAG built and checked. */
function checkTask(parsed: DistributedTask, what: string, root: string): Result<ValidatedTask, QiError> {
  const task = completeTask(parsed);
  let graph: TaskGraph | undefined;
  if (task.subtasks !== undefined) {
    const built = buildTaskGraph(task.subtasks, task.dependencies, root);
    if (built.tag === 'failure') return failure({ ...built.error, message: built.error.message.replace(/^task DAG/, what) });
    graph = built.value;
  }
  deepFreeze(task);
  return success(ValidatedTask.of(task, graph));
}

/** Reads a task file (JSON or YAML) into `{ task, strategy? }`, validated, DAG checked. */
export async function loadTaskFile(file: string): Promise<Result<LoadedTaskFile, QiError>> {
  const filepath = path.resolve(file);
  let text: string;
  try {
    text = await readFile(filepath, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : e instanceof Error ? e.message : String(e);
    return failure(qiError('FILE_NOT_FOUND', `task file ${filepath} cannot be read: ${reason}`, { filepath }));
  }
  const raw = parseTaskText(text, filepath);
  if (raw.tag === 'failure') return raw;
  const what = `task file ${filepath}`;
  const parsed = parseInput(TaskFile, raw.value, { code: 'INVALID_TASK', what, context: { filepath } });
  if (parsed.tag === 'failure') return parsed;
  const task = checkTask(parsed.value.task, what, 'task');
  if (task.tag === 'failure') return failure({ ...task.error, context: { ...task.error.context, filepath } });
  return success({
    task: task.value.task,
    validated: task.value,
    ...(parsed.value.strategy === undefined ? {} : { strategy: parsed.value.strategy }),
    path: filepath,
  });
}
