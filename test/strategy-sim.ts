/**
 * A tiny pure simulator for strategy schedulers: drives a `Scheduler` over a DAG in simulated time
 * (an event loop over subtask ends, no timers, no processes) and records when each subtask ran.
 * Plus DAG builders and a seeded random layered DAG for tests.
 */
import type { Lanes, PlanInput, ReadySubtask, SchedulerState, StrategyPlugin, StrategySubtask } from 'qicoord/plugin';
import { analyzeDag, type DagFacts } from '../plugins/strategies/lanes.js';

/** An edge `[from, to]`: `to` waits for `from`. */
export type Edge = readonly [number, number];

/** Kahn's algorithm, smallest index first among the available ones; throws on a cycle. */
function topologicalOrder(preds: readonly (readonly number[])[], succs: readonly (readonly number[])[]): number[] {
  const waiting = preds.map((p) => p.length);
  const queue = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  const order: number[] = [];
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!;
    order.push(i);
    for (const s of succs[i]!) if (--waiting[s]! === 0) queue.push(s);
  }
  if (order.length !== preds.length) throw new Error('cycle');
  return order;
}

/** Builds a `PlanInput` from estimated durations, edges, a cap and optional profiles (default 'p'). */
export function dag(estimates: readonly number[], edges: readonly Edge[], maxConcurrentAgents: number, profiles?: readonly string[]): PlanInput {
  const subtasks: StrategySubtask[] = estimates.map((d, i) => ({ id: `t${i}`, estimatedDuration: d, profile: profiles?.[i] ?? 'p' }));
  const preds: number[][] = estimates.map(() => []);
  const succs: number[][] = estimates.map(() => []);
  for (const [from, to] of edges) {
    preds[to]!.push(from);
    succs[from]!.push(to);
  }
  return { subtasks, preds, succs, order: topologicalOrder(preds, succs), maxConcurrentAgents };
}

/** Mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@link randomLayeredDag}. */
export interface RandomDagOptions {
  readonly n: number;
  readonly seed: number;
  readonly layers: number;
  /** Predecessors per subtask outside the first layer (distinct, from earlier layers). */
  readonly edgesPerNode: number;
  readonly maxConcurrentAgents: number;
  readonly profiles?: readonly string[];
}

/** A random layered DAG: subtasks spread over layers, each with edges from earlier layers. */
export function randomLayeredDag(o: RandomDagOptions): PlanInput {
  const rnd = seeded(o.seed);
  const perLayer = Math.ceil(o.n / o.layers);
  const estimates = Array.from({ length: o.n }, () => 50 + Math.floor(rnd() * 950));
  const profiles = o.profiles === undefined ? undefined : Array.from({ length: o.n }, () => o.profiles![Math.floor(rnd() * o.profiles!.length)]!);
  const edges: Edge[] = [];
  for (let i = perLayer; i < o.n; i++) {
    const layerStart = Math.floor(i / perLayer) * perLayer;
    const chosen = new Set<number>();
    for (let k = 0; k < o.edgesPerNode; k++) {
      const nearby = rnd() < 0.7 ? layerStart - perLayer : 0;
      chosen.add(nearby + Math.floor(rnd() * (layerStart - nearby)));
    }
    for (const from of chosen) edges.push([from, i]);
  }
  return dag(estimates, edges, o.maxConcurrentAgents, profiles);
}

/** Environment readings the simulator puts in each `SchedulerState`. */
export interface SimEnvironment {
  readonly memory: SchedulerState['memory'];
  readonly cpu: SchedulerState['cpu'];
}

/** Options of {@link simulate}. */
export interface SimOptions {
  /** Actual durations (ms); default the estimates. */
  readonly durations?: readonly number[];
  /** Memory and CPU readings for a given number of running subtasks; default plenty of room. */
  readonly environment?: (running: number) => SimEnvironment;
}

/** What a simulated run recorded. */
export interface SimResult {
  readonly start: readonly number[];
  readonly end: readonly number[];
  /** Subtask indices in the order they started. */
  readonly startOrder: readonly number[];
  readonly makespan: number;
  /** Most subtasks running at once. */
  readonly maxRunning: number;
  /** Every value `concurrency()` returned. */
  readonly concurrencies: readonly number[];
  /** `lowestOpenLevel` at the moment each subtask started. */
  readonly openLevelAtStart: readonly number[];
}

const roomy = (running: number): SimEnvironment => ({
  memory: { usedMB: running * 50, budgetMB: 100_000, perAgentMB: 50 },
  cpu: { percent: running * 10, cores: 64 },
});

interface Running {
  readonly index: number;
  readonly end: number;
}

/** The mutable state of one simulated run. */
class Simulation {
  readonly start: number[];
  readonly end: number[];
  readonly startOrder: number[] = [];
  readonly concurrencies: number[] = [];
  readonly openLevelAtStart: number[] = [];
  readonly facts: DagFacts;
  private readonly waiting: number[];
  private readonly ready = new Set<number>();
  private readonly openPerLevel: number[] = [];
  private running: Running[] = [];
  private lowestOpenLevel = 0;
  private completed = 0;
  private finishedRatio: number | undefined;
  maxRunning = 0;
  now = 0;

  constructor(
    private readonly input: PlanInput,
    private readonly durations: readonly number[],
    private readonly environment: (running: number) => SimEnvironment,
  ) {
    const n = input.subtasks.length;
    this.facts = analyzeDag(input);
    this.start = new Array<number>(n).fill(-1);
    this.end = new Array<number>(n).fill(-1);
    this.waiting = input.preds.map((p) => p.length);
    this.waiting.forEach((w, i) => w === 0 && this.ready.add(i));
    for (const l of this.facts.level) this.openPerLevel[l] = (this.openPerLevel[l] ?? 0) + 1;
  }

  get done(): boolean {
    return this.completed === this.input.subtasks.length;
  }

  state(): SchedulerState {
    const env = this.environment(this.running.length);
    return {
      running: this.running.length,
      completed: this.completed,
      failed: 0,
      total: this.input.subtasks.length,
      lowestOpenLevel: this.lowestOpenLevel,
      memory: env.memory,
      cpu: env.cpu,
      latencyRatio: this.finishedRatio,
    };
  }

  readyList(): ReadySubtask[] {
    const { rank, bottomLevel, level, duration } = this.facts;
    return [...this.ready].map((index) => ({
      index,
      id: this.input.subtasks[index]!.id,
      rank: rank[index]!,
      bottomLevel: bottomLevel[index]!,
      level: level[index]!,
      estimatedDuration: duration[index]!,
    }));
  }

  begin(index: number): void {
    if (!this.ready.delete(index)) throw new Error(`picked ${index}, which is not ready`);
    this.start[index] = this.now;
    this.startOrder.push(index);
    this.openLevelAtStart[index] = this.lowestOpenLevel;
    this.running.push({ index, end: this.now + this.durations[index]! });
    this.maxRunning = Math.max(this.maxRunning, this.running.length);
  }

  /** Advances to the earliest end and completes that subtask; returns its index. */
  finishNext(): number {
    const next = this.running.reduce((a, b) => (b.end < a.end ? b : a));
    this.running = this.running.filter((r) => r !== next);
    this.now = next.end;
    this.end[next.index] = next.end;
    this.completed++;
    const estimate = this.facts.duration[next.index]!;
    this.finishedRatio = estimate > 0 ? this.durations[next.index]! / estimate : this.finishedRatio;
    this.closeLevel(this.facts.level[next.index]!);
    for (const s of this.input.succs[next.index]!) if (--this.waiting[s]! === 0) this.ready.add(s);
    return next.index;
  }

  private closeLevel(level: number): void {
    this.openPerLevel[level]!--;
    while (this.lowestOpenLevel < this.openPerLevel.length && this.openPerLevel[this.lowestOpenLevel] === 0) this.lowestOpenLevel++;
  }

  get runningCount(): number {
    return this.running.length;
  }
}

/** Starts ready subtasks while the scheduler allows. */
function dispatch(sim: Simulation, scheduler: ReturnType<StrategyPlugin['createScheduler']>): void {
  for (;;) {
    const state = sim.state();
    const limit = scheduler.concurrency(state);
    sim.concurrencies.push(limit);
    if (sim.runningCount >= limit) return;
    const ready = sim.readyList();
    if (ready.length === 0) return;
    const k = scheduler.pick(ready, state);
    if (k < 0) return;
    sim.begin(ready[k]!.index);
  }
}

/** Runs `strategy`'s scheduler over `input` in simulated time. */
export function simulate(strategy: StrategyPlugin, input: PlanInput, options: SimOptions = {}): SimResult {
  const durations = options.durations ?? input.subtasks.map((s) => s.estimatedDuration);
  const sim = new Simulation(input, durations, options.environment ?? roomy);
  const scheduler = strategy.createScheduler(input);
  while (!sim.done) {
    dispatch(sim, scheduler);
    if (sim.runningCount === 0) throw new Error(`stalled at ${sim.now} ms with nothing running`);
    const index = sim.finishNext();
    scheduler.onSubtaskEnd?.({ index, ok: true, durationMs: durations[index]! }, sim.state());
  }
  const { start, end, startOrder, maxRunning, concurrencies, openLevelAtStart } = sim;
  return { start, end, startOrder, makespan: sim.now, maxRunning, concurrencies, openLevelAtStart };
}

/**
 * Problems with a plan, empty when it is sound: every subtask in exactly one lane, each lane of
 * one profile, and the lanes' run orders consistent with the DAG (DAG edges plus each lane's
 * consecutive pairs stay acyclic — so within a lane, ancestors come first).
 */
export function laneProblems(input: PlanInput, lanes: Lanes): string[] {
  const problems: string[] = [];
  const n = input.subtasks.length;
  const seen = new Array<number>(n).fill(0);
  const extraSuccs: number[][] = Array.from({ length: n }, () => []);
  const extraPreds = new Array<number>(n).fill(0);
  lanes.forEach((lane, l) => {
    if (lane.length === 0) problems.push(`lane ${l} is empty`);
    const profiles = new Set(lane.map((i) => input.subtasks[i]?.profile));
    if (profiles.size > 1) problems.push(`lane ${l} mixes profiles ${[...profiles].join(', ')}`);
    lane.forEach((i, k) => {
      seen[i] = (seen[i] ?? 0) + 1;
      if (k > 0) {
        extraSuccs[lane[k - 1]!]!.push(i);
        extraPreds[i]!++;
      }
    });
  });
  seen.forEach((count, i) => count !== 1 && problems.push(`subtask ${i} is in ${count} lanes`));
  if (problems.length === 0 && !acyclic(input, extraSuccs, extraPreds)) problems.push('lane order contradicts the DAG');
  return problems;
}

function acyclic(input: PlanInput, extraSuccs: readonly number[][], extraPreds: readonly number[]): boolean {
  const waiting = input.preds.map((p, i) => p.length + extraPreds[i]!);
  const queue = waiting.flatMap((w, i) => (w === 0 ? [i] : []));
  for (let head = 0; head < queue.length; head++) {
    const i = queue[head]!;
    for (const s of [...input.succs[i]!, ...extraSuccs[i]!]) if (--waiting[s]! === 0) queue.push(s);
  }
  return queue.length === input.subtasks.length;
}
