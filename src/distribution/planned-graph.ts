/**
 * The DAG a distribution was planned on travels with the distribution itself, so execution
 * takes the plan as it is instead of building the graph a second time. It is a non-enumerable
 * property (not part of the plan's JSON) tied to the plan's frozen `subtasks` array: a plan
 * rebuilt or copied by a host carries no graph, and execution builds one.
 * @module
 */
import type { TaskGraph } from '../dag/graph.js';
import type { SubTask } from '../schemas/task.js';
import { deepFreeze } from '../util/objects.js';

const PLANNED_GRAPH = Symbol('qicoord.plannedGraph');

interface Holder {
  [PLANNED_GRAPH]?: { readonly subtasks: readonly SubTask[]; readonly graph: TaskGraph };
}

/** Attaches the graph of `plan.subtasks` to the plan (freezing the subtasks: the graph must stay theirs). */
export function attachGraph<T extends { readonly subtasks: readonly SubTask[] }>(plan: T, graph: TaskGraph): T {
  deepFreeze(plan.subtasks);
  Object.defineProperty(plan, PLANNED_GRAPH, { value: Object.freeze({ subtasks: plan.subtasks, graph }), enumerable: false });
  return plan;
}

/** The graph the plan was made with, when it still runs exactly those subtasks. */
export function plannedGraph(plan: { readonly subtasks: readonly SubTask[] }): TaskGraph | undefined {
  const held = (plan as Holder)[PLANNED_GRAPH];
  return held !== undefined && held.subtasks === plan.subtasks ? held.graph : undefined;
}
