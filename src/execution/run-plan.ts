import type { InputSource, TaskGraph } from '../dag/graph.js';
import { buildTaskGraph } from '../dag/graph.js';
import { plannedGraph } from '../distribution/planned-graph.js';
import { profileKey, profileKeys } from '../distribution/specs.js';
import type { TaskDistribution } from '../distribution/types.js';
import type { SubAgentSpecification } from '../schemas/spec.js';
import type { SubTask } from '../schemas/task.js';
import { grow } from './dag-progress.js';
import { graphMetrics, type GraphMetrics } from './graph-metrics.js';
import type { LeaseRequest } from './run-agents.js';

/**
 * What a run reads from its plan, resolved once and by index: the subtasks and their DAG, each
 * subtask's specification and profile, its lane, and the lane's planned allocation (the memory a
 * new agent of the lane asks the budget for) and priority.
 */
export class RunPlan {
  readonly id: string;
  readonly maxConcurrentAgents: number;
  subtasks: readonly SubTask[];
  graph: TaskGraph;
  readonly metrics: GraphMetrics;
  specs: readonly SubAgentSpecification[];
  profiles: readonly string[];
  laneOf: Int32Array;
  /** Subtasks in the distribution (delegated ones come after them). */
  readonly planned: number;
  /** Whether the arrays above are this plan's own copies (the distribution's are never changed). */
  private owned = false;
  /** Profile keys of delegated subtasks' specifications (children of one request shape share one object). */
  private readonly keys = new Map<SubAgentSpecification, string>();
  private readonly laneMemoryMB: readonly (number | undefined)[];
  private readonly lanePriority: readonly number[];

  constructor(distribution: TaskDistribution) {
    this.id = distribution.distributionId;
    this.maxConcurrentAgents = distribution.strategy.maxConcurrentAgents;
    this.subtasks = distribution.subtasks;
    this.graph = plannedGraph(distribution) ?? builtGraph(distribution);
    this.specs = this.subtasks.map((s) => distribution.specifications[s.id]!);
    this.profiles = profileKeys(this.specs);
    this.laneOf = new Int32Array(this.subtasks.length);
    const index = this.graph.index;
    distribution.agentAllocations.forEach((a, l) => a.assignedSubTasks.forEach((s) => (this.laneOf[index.get(s.id)!] = l)));
    this.laneMemoryMB = distribution.agentAllocations.map((a) => a.resourceAllocation.allocatedResources.find((r) => r.type === 'memory')?.amount);
    this.lanePriority = distribution.agentAllocations.map((a) => a.priority);
    this.metrics = graphMetrics(this.graph, this.subtasks.map((s) => s.estimatedDuration));
    this.planned = this.subtasks.length;
  }

  /**
   * Appends delegated subtasks, each placed like its parent (lane, level, order, critical path):
   * they wait for nothing, and run while the parent waits for them.
   */
  add(children: readonly { readonly subtask: SubTask; readonly spec: SubAgentSpecification; readonly parent: number }[]): void {
    this.own();
    const subtasks = this.subtasks as SubTask[];
    const g = this.graph as { ids: string[]; index: Map<string, number>; preds: number[][]; succs: number[][]; order: number[]; inputSources: Record<string, InputSource>[] };
    const n = subtasks.length + children.length;
    this.laneOf = grow(this.laneOf, n);
    const m = this.metrics as { level: Int32Array; bottomLevel: Float64Array; rank: Int32Array };
    m.level = grow(m.level, n);
    m.bottomLevel = grow(m.bottomLevel, n);
    m.rank = grow(m.rank, n);
    for (const { subtask, spec, parent } of children) {
      const i = subtasks.length;
      subtasks.push(subtask);
      (this.specs as SubAgentSpecification[]).push(spec);
      let key = this.keys.get(spec);
      if (key === undefined) this.keys.set(spec, (key = profileKey(spec)));
      (this.profiles as string[]).push(key);
      g.ids.push(subtask.id);
      g.index.set(subtask.id, i);
      g.preds.push([]);
      g.succs.push([]);
      g.order.push(i);
      g.inputSources.push(Object.fromEntries(subtask.inputs.map((input) => [input.name, { kind: 'literal' } as const])));
      this.laneOf[i] = this.laneOf[parent]!;
      m.level[i] = m.level[parent]!;
      m.bottomLevel[i] = m.bottomLevel[parent]!;
      m.rank[i] = m.rank[parent]!;
    }
  }

  /** Copies what `add` changes, once (the distribution and its graph belong to the caller). */
  private own(): void {
    if (this.owned) return;
    this.owned = true;
    const g = this.graph;
    this.graph = { ids: [...g.ids], index: new Map(g.index), preds: [...g.preds], succs: [...g.succs], order: [...g.order], inputSources: [...g.inputSources] };
    this.subtasks = [...this.subtasks];
    this.specs = [...this.specs];
    this.profiles = [...this.profiles];
  }

  idOf(i: number): string {
    return this.subtasks[i]!.id;
  }

  /** The subtask's index; -1 for an id the run does not have. */
  indexOf(id: string): number {
    return this.graph.index.get(id) ?? -1;
  }

  /** The lane of a subtask id, else of the agent id (`agentLane`: its current subtask's lane). */
  laneOfTarget(target: string, agentLane: (agentId: string) => number | undefined): number | undefined {
    const i = this.indexOf(target);
    return i >= 0 ? this.laneOf[i] : agentLane(target);
  }

  /** Memory limit of the agent subtask `i` needs (MB). */
  memoryOf(i: number): number {
    return this.specs[i]!.resourceLimits.maxMemoryMB;
  }

  /** An agent lease for an attempt of subtask `i`. */
  leaseRequest(i: number, runId: string, fresh: boolean): LeaseRequest {
    const lane = this.laneOf[i]!;
    return {
      key: i,
      label: `${runId}:${this.subtasks[i]!.id}`,
      profile: this.profiles[i]!,
      lane,
      memoryMB: this.laneMemoryMB[lane] ?? this.memoryOf(i),
      priority: this.lanePriority[lane] ?? 1,
      spec: this.specs[i]!,
      fresh,
    };
  }
}

/** The DAG of a plan that does not carry the one it was made with (a plan read back from JSON). */
function builtGraph(distribution: TaskDistribution): TaskGraph {
  const graph = buildTaskGraph(distribution.subtasks, distribution.originalTask.dependencies);
  if (graph.tag === 'failure') throw new Error(`a distribution with an invalid DAG reached execution: ${graph.error.message}`);
  return graph.value;
}
