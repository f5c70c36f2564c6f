import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { InputIssue } from '../schemas/issues.js';
import { issuesError } from '../schemas/issues.js';
import type { SubTask, TaskDependency } from '../schemas/task.js';

/** Where an input's value comes from: a literal, or the outputs of upstream subtasks. */
export type InputSource =
  | { readonly kind: 'literal' }
  | { readonly kind: 'upstream'; readonly producers: readonly string[] };

/** The subtask DAG: dense indices for speed, ids for people. Plain data. */
export interface TaskGraph {
  readonly ids: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** preds[i]: indices i waits for (data edges and explicit dependencies), no duplicates. */
  readonly preds: readonly (readonly number[])[];
  /** succs[i]: indices waiting for i. */
  readonly succs: readonly (readonly number[])[];
  /** A topological order of all indices. */
  readonly order: readonly number[];
  /** inputSources[i][inputName]: how subtask i's input is fed. */
  readonly inputSources: readonly Readonly<Record<string, InputSource>>[];
}

/** Shape the DAG checks need; SubTask fits it. */
type GraphSubTask = Pick<SubTask, 'id' | 'inputs' | 'expectedOutputs'>;

function pushUnique(list: number[], value: number): void {
  if (!list.includes(value)) list.push(value);
}

/** Tarjan's strongly connected components, iteratively (deep DAGs must not overflow the stack). */
function stronglyConnected(succs: readonly (readonly number[])[]): number[][] {
  const n = succs.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, edge] = frame;
      if (edge === 0) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = 1;
      }
      const next = succs[v]!;
      if (edge < next.length) {
        frame[1] = edge + 1;
        const w = next[edge]!;
        if (index[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]]!, low[v]!);
      if (low[v] === index[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component.push(w);
        } while (w !== v);
        components.push(component);
      }
    }
  }
  return components;
}

/** One concrete cycle inside a strongly connected component, as indices (first repeated at the end). */
function cycleIn(component: readonly number[], succs: readonly (readonly number[])[]): number[] {
  const members = new Set(component);
  const start = Math.min(...component);
  const parent = new Map<number, number>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head]!;
    for (const w of succs[v]!) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = parent.get(u)!) path.push(u);
        path.push(start);
        return [start, ...path.slice(1, -1).reverse(), start];
      }
      if (!parent.has(w)) {
        parent.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * Builds and checks the DAG of a task's subtasks: data edges (an input with no value, fed by
 * the subtasks whose expectedOutputs carry its name) and explicit `dependencies`. Every problem
 * is collected — duplicate ids, unknown ids in dependencies, inputs nothing produces, cycles
 * (named subtask by subtask) — and reported as one INVALID_TASK error.
 */
export function buildTaskGraph(
  subtasks: readonly GraphSubTask[],
  dependencies: readonly TaskDependency[] = [],
  root = 'task',
): Result<TaskGraph, QiError> {
  const issues: InputIssue[] = [];
  const index = new Map<string, number>();
  subtasks.forEach((s, i) => {
    const first = index.get(s.id);
    if (first === undefined) index.set(s.id, i);
    else issues.push({ path: `${root}.subtasks[${i}].id`, message: `duplicate subtask id '${s.id}' (first at ${root}.subtasks[${first}])` });
  });

  const producers = new Map<string, number[]>();
  subtasks.forEach((s, i) => {
    for (const out of s.expectedOutputs) {
      const list = producers.get(out.name);
      if (list === undefined) producers.set(out.name, [i]);
      else pushUnique(list, i);
    }
  });

  const n = subtasks.length;
  const preds: number[][] = Array.from({ length: n }, () => []);
  const inputSources: Record<string, InputSource>[] = [];
  subtasks.forEach((s, i) => {
    const sources: Record<string, InputSource> = {};
    s.inputs.forEach((input, j) => {
      if (input.value !== null && input.value !== undefined) {
        sources[input.name] = { kind: 'literal' };
        return;
      }
      // A subtask never feeds itself: `x` in and `x` out is a transform of an upstream `x`.
      const from = (producers.get(input.name) ?? []).filter((p) => p !== i);
      if (from.length === 0) {
        if (input.required) {
          issues.push({
            path: `${root}.subtasks[${i}].inputs[${j}]`,
            message: `input '${input.name}' of subtask '${s.id}' is produced by no subtask (no expectedOutputs named '${input.name}'); give it a value or add the subtask that produces it`,
          });
        }
        sources[input.name] = { kind: 'literal' };
        return;
      }
      for (const p of from) pushUnique(preds[i]!, p);
      sources[input.name] = { kind: 'upstream', producers: from.map((p) => subtasks[p]!.id) };
    });
    inputSources.push(sources);
  });

  dependencies.forEach((dep, k) => {
    const target = index.get(dep.dependentTask);
    if (target === undefined) {
      issues.push({ path: `${root}.dependencies[${k}].dependentTask`, message: `unknown subtask '${dep.dependentTask}'` });
    }
    dep.dependsOn.forEach((id, m) => {
      const source = index.get(id);
      if (source === undefined) issues.push({ path: `${root}.dependencies[${k}].dependsOn[${m}]`, message: `unknown subtask '${id}'` });
      else if (target !== undefined) pushUnique(preds[target]!, source);
    });
  });

  const succs: number[][] = Array.from({ length: n }, () => []);
  preds.forEach((ps, i) => {
    for (const p of ps) succs[p]!.push(i);
  });

  const cyclic = stronglyConnected(succs).filter((c) => c.length > 1 || succs[c[0]!]!.includes(c[0]!));
  for (const component of cyclic) {
    const cycle = cycleIn(component, succs).map((i) => subtasks[i]!.id);
    issues.push({
      path: `${root}.subtasks`,
      message: `dependency cycle: ${describeCycle(cycle)}; a subtask cannot (indirectly) wait for its own output`,
    });
  }

  if (issues.length > 0) return failure(issuesError(issues, { code: 'INVALID_TASK', what: `task DAG`, context: { cycles: cyclic.length } }));
  return success({ ids: subtasks.map((s) => s.id), index, preds, succs, order: topologicalOrder(preds, succs), inputSources });
}

/** `a → b → c → a`, shortened in the middle when the cycle is long. */
function describeCycle(cycle: readonly string[]): string {
  const MAX = 12;
  if (cycle.length <= MAX) return cycle.join(' → ');
  const hidden = cycle.length - 9;
  return [...cycle.slice(0, 6), `… ${hidden} more …`, ...cycle.slice(-3)].join(' → ');
}

/** Kahn's algorithm; ties broken by declaration order, so the order is stable. */
function topologicalOrder(preds: readonly (readonly number[])[], succs: readonly (readonly number[])[]): number[] {
  const remaining = preds.map((p) => p.length);
  const order: number[] = [];
  for (let i = 0; i < remaining.length; i++) if (remaining[i] === 0) order.push(i);
  for (let head = 0; head < order.length; head++) {
    for (const w of succs[order[head]!]!) {
      remaining[w]! -= 1;
      if (remaining[w] === 0) order.push(w);
    }
  }
  return order;
}

/** The longest chain of estimated durations through the DAG, and the subtasks on it. */
export function criticalPath(graph: TaskGraph, durations: readonly number[]): { readonly length: number; readonly path: readonly string[] } {
  const finish = new Float64Array(graph.ids.length);
  const via = new Int32Array(graph.ids.length).fill(-1);
  let end = -1;
  for (const v of graph.order) {
    let start = 0;
    for (const p of graph.preds[v]!) {
      if (finish[p]! > start) {
        start = finish[p]!;
        via[v] = p;
      }
    }
    finish[v] = start + (durations[v] ?? 0);
    if (end === -1 || finish[v]! > finish[end]!) end = v;
  }
  const path: string[] = [];
  for (let v = end; v !== -1; v = via[v]!) path.push(graph.ids[v]!);
  return { length: end === -1 ? 0 : finish[end]!, path: path.reverse() };
}
