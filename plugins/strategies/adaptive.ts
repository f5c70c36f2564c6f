/**
 * `adaptive`: the order and plan of `hybrid` (critical path first, HEFT-style lanes), with a
 * concurrency that adapts while the run goes — additive increase, multiplicative decrease (AIMD).
 *
 * Policy:
 * - Start at min(2, maxConcurrentAgents).
 * - On every successful `onSubtaskEnd` and every `onSample`, decide:
 *   - **halve** (floor, at least 1) when any of these holds:
 *     memory pressure `usedMB / budgetMB` ≥ 0.85; one more agent would not fit
 *     (`usedMB + perAgentMB > budgetMB`); CPU saturated — `cpu.percent ≥ 95 × cores` on 2
 *     consecutive samples while more agents run than there are cores (agents that merely keep
 *     every core busy are full use, not contention); subtasks run over twice slower than
 *     estimated (`latencyRatio > 2`);
 *   - else **add one** (up to maxConcurrentAgents) when pressure < 0.7 and CPU < 90 × cores;
 *   - else hold.
 * - `concurrency()` never exceeds `floor((budgetMB - usedMB) / perAgentMB) + running`, so starting
 *   one more agent never goes over the memory budget; it always stays within [1, maxConcurrentAgents].
 *   A budget or per-agent size ≤ 0 (or not finite) means "no memory bound".
 * - `explain()` gives the last decision and its reason, e.g. "memory pressure 90%: halved 4 → 2".
 */
import { defineStrategy, type PlanInput, type ReadySubtask, type Scheduler, type SchedulerState } from 'qicoord/plugin';
import { capOf, clampConcurrency, criticalPathFirst, listScheduleLanes, pickBest } from './lanes.js';

/** Memory pressure at or above which concurrency halves. */
const HALVE_PRESSURE = 0.85;
/** Memory pressure below which concurrency may grow. */
const GROW_PRESSURE = 0.7;
/** CPU percent per core at or above which a sample counts as saturated. */
const SATURATED_PERCENT = 95;
/** Saturated samples in a row that make a decrease. */
const SATURATED_SAMPLES = 2;
/** CPU percent per core below which concurrency may grow. */
const GROW_PERCENT = 90;
/** Latency ratio above which concurrency halves. */
const SLOW_RATIO = 2;

type Memory = SchedulerState['memory'];

function hasBudget(m: Memory): boolean {
  return Number.isFinite(m.budgetMB) && m.budgetMB > 0;
}

function pressureOf(m: Memory): number {
  return hasBudget(m) ? m.usedMB / m.budgetMB : 0;
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** How many agents may run without going over the memory budget (Infinity without a bound). */
export function budgetBound(state: SchedulerState): number {
  const m = state.memory;
  if (!hasBudget(m) || !(Number.isFinite(m.perAgentMB) && m.perAgentMB > 0)) return Infinity;
  return Math.floor((m.budgetMB - m.usedMB) / m.perAgentMB) + state.running;
}

function cores(state: SchedulerState): number {
  return Math.max(1, state.cpu.cores);
}

function cpuSaturated(state: SchedulerState): boolean {
  return state.cpu.percent >= SATURATED_PERCENT * cores(state);
}

function cpuLine(state: SchedulerState): string {
  return `CPU ${Math.round(state.cpu.percent)}% of ${cores(state) * 100}%`;
}

/** Why concurrency must come down, or undefined when nothing calls for it. */
function congestion(state: SchedulerState, saturatedSamples: number): string | undefined {
  const m = state.memory;
  const pressure = pressureOf(m);
  if (pressure >= HALVE_PRESSURE) return `memory pressure ${percent(pressure)}`;
  if (hasBudget(m) && m.perAgentMB > 0 && m.usedMB + m.perAgentMB > m.budgetMB) {
    return `another agent would not fit (${Math.round(m.usedMB)} + ${Math.round(m.perAgentMB)} > ${Math.round(m.budgetMB)} MB)`;
  }
  if (saturatedSamples >= SATURATED_SAMPLES && state.running > cores(state)) {
    return `${cpuLine(state)} for ${saturatedSamples} samples with ${state.running} agents`;
  }
  if (state.latencyRatio !== undefined && state.latencyRatio > SLOW_RATIO) {
    return `subtasks ${state.latencyRatio.toFixed(1)}× slower than estimated`;
  }
  return undefined;
}

function hasRoom(state: SchedulerState): boolean {
  return pressureOf(state.memory) < GROW_PRESSURE && state.cpu.percent < GROW_PERCENT * cores(state);
}

/** The AIMD scheduler of the `adaptive` strategy. */
export class AdaptiveScheduler implements Scheduler {
  private readonly cap: number;
  private limit: number;
  private saturatedSamples = 0;
  private decision: string;
  private boundNote = '';

  /** @param input the plan input; only `maxConcurrentAgents` is used. */
  constructor(input: PlanInput) {
    this.cap = capOf(input.maxConcurrentAgents);
    this.limit = Math.min(2, this.cap);
    this.decision = `start at ${this.limit}`;
  }

  /** The AIMD limit, further bounded by what fits the memory budget; within [1, cap]. */
  concurrency(state: SchedulerState): number {
    const bound = budgetBound(state);
    const value = clampConcurrency(Math.min(this.limit, bound), this.cap);
    this.boundNote = value < this.limit ? `; memory budget fits ${value}` : '';
    return value;
  }

  /** Critical path first, ties by rank. */
  pick(ready: readonly ReadySubtask[]): number {
    return pickBest(ready, criticalPathFirst);
  }

  /** The same order as `pick`, for the engine's heap. */
  readonly order = { before: criticalPathFirst };

  /** A successful end is a decision point. */
  onSubtaskEnd(event: { readonly index: number; readonly ok: boolean; readonly durationMs: number }, state: SchedulerState): void {
    if (event.ok) this.decide(state);
  }

  /** A sample updates the CPU-saturation streak, then is a decision point. */
  onSample(state: SchedulerState): void {
    this.saturatedSamples = cpuSaturated(state) ? this.saturatedSamples + 1 : 0;
    this.decide(state);
  }

  /** The last decision and why. */
  explain(): string {
    return this.decision + this.boundNote;
  }

  private decide(state: SchedulerState): void {
    const before = this.limit;
    const reason = congestion(state, this.saturatedSamples);
    if (reason !== undefined) {
      this.limit = Math.max(1, Math.floor(before / 2));
      this.decision = `${reason}: halved ${before} → ${this.limit}`;
    } else if (hasRoom(state)) {
      this.limit = Math.min(this.cap, before + 1);
      const what = this.limit > before ? `raised ${before} → ${this.limit}` : `at the cap ${this.cap}`;
      this.decision = `room (memory ${percent(pressureOf(state.memory))}, ${cpuLine(state)}): ${what}`;
    } else {
      this.decision = `holding at ${before} (memory ${percent(pressureOf(state.memory))}, ${cpuLine(state)})`;
    }
  }
}

/** The built-in `adaptive` strategy. */
export default defineStrategy({
  name: 'adaptive',
  kind: 'strategy',
  description:
    'Hybrid order and plan with AIMD concurrency: starts at 2, halves on memory pressure ≥ 85%, no room for another agent, sustained CPU saturation or subtasks 2× slower than estimated, adds one when memory < 70% and CPU < 90%; never over the memory budget.',
  plan: listScheduleLanes,
  createScheduler: (input: PlanInput): Scheduler => new AdaptiveScheduler(input),
});
