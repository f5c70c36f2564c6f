import type { InputSource } from '../dag/graph.js';
import type { SubTask } from '../schemas/task.js';

/**
 * A subtask's inputs for its plugin: the task-level inputs, then each literal input, then each
 * upstream input — the producer's output of the same name, or the array of them, in declaration
 * order, when several subtasks produce it.
 */
export function resolveInputs(
  subtask: SubTask,
  sources: Readonly<Record<string, InputSource>>,
  outputs: Pick<ReadonlyMap<string, Readonly<Record<string, unknown>>>, 'get'>,
  taskInputs: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  const resolved: Record<string, unknown> = { ...taskInputs };
  for (const input of subtask.inputs) {
    const source = sources[input.name];
    if (source === undefined || source.kind === 'literal') {
      if (input.value !== null && input.value !== undefined) resolved[input.name] = input.value;
      continue;
    }
    const values = source.producers.map((id) => outputs.get(id)?.[input.name]);
    resolved[input.name] = values.length === 1 ? values[0] : values;
  }
  return resolved;
}
