/**
 * Pure helpers shared by the built-in strategies: DAG facts (level, bottom level, rank), a small
 * binary heap, and three ways of laying subtasks out on agent lanes. Everything is array- and
 * index-based and runs in O((n + e) log n) for n subtasks and e edges.
 *
 * This module has no default export, so the plugin loader skips it.
 */
import type { Lanes, PlanInput, ReadySubtask } from 'qicoord/plugin';

/** A binary min-heap of numbers ordered by `before(a, b)` (true when a must come out first). */
export class Heap {
  private readonly items: number[] = [];

  /** @param before strict order: true when `a` comes out before `b`. */
  constructor(private readonly before: (a: number, b: number) => boolean) {}

  /** Number of items in the heap. */
  get size(): number {
    return this.items.length;
  }

  /** Adds an item. */
  push(item: number): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the first item, or -1 when empty. */
  pop(): number {
    const items = this.items;
    if (items.length === 0) return -1;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) this.siftDown(last);
    return top;
  }

  private siftDown(item: number): void {
    const items = this.items;
    const n = items.length;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.before(items[right]!, items[child]!)) child = right;
      if (!this.before(items[child]!, item)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = item;
  }
}

/** Facts about each subtask of a DAG, indexed like `PlanInput.subtasks`. */
export interface DagFacts {
  /** Estimated duration, ms (non-finite or negative estimates count as 0). */
  readonly duration: Float64Array;
  /** Depth: 0 without predecessors, else 1 + the deepest predecessor. */
  readonly level: Int32Array;
  /** Longest chain of estimated durations from the subtask to the end, itself included. */
  readonly bottomLevel: Float64Array;
  /** Position in `PlanInput.order`. */
  readonly rank: Int32Array;
  /** Small integer per distinct profile, numbered in order of first appearance in `order`. */
  readonly profile: Int32Array;
  /** Number of distinct profiles. */
  readonly profileCount: number;
}

function estimate(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}

function profileIds(input: PlanInput): { profile: Int32Array; profileCount: number } {
  const ids = new Map<string, number>();
  const profile = new Int32Array(input.subtasks.length);
  for (const i of input.order) {
    const name = input.subtasks[i]!.profile;
    let id = ids.get(name);
    if (id === undefined) {
      id = ids.size;
      ids.set(name, id);
    }
    profile[i] = id;
  }
  return { profile, profileCount: ids.size };
}

/** Computes level, bottom level, rank and profile ids in one pass each over the topological order. */
export function analyzeDag(input: PlanInput): DagFacts {
  const n = input.subtasks.length;
  const duration = new Float64Array(n);
  const level = new Int32Array(n);
  const bottomLevel = new Float64Array(n);
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) duration[i] = estimate(input.subtasks[i]!.estimatedDuration);
  input.order.forEach((i, position) => {
    rank[i] = position;
    let depth = 0;
    for (const p of input.preds[i]!) depth = Math.max(depth, level[p]! + 1);
    level[i] = depth;
  });
  for (let k = input.order.length - 1; k >= 0; k--) {
    const i = input.order[k]!;
    let tail = 0;
    for (const s of input.succs[i]!) tail = Math.max(tail, bottomLevel[s]!);
    bottomLevel[i] = duration[i]! + tail;
  }
  return { duration, level, bottomLevel, rank, ...profileIds(input) };
}

/** The cap as a whole number ≥ 1. */
export function capOf(maxConcurrentAgents: number): number {
  return Number.isFinite(maxConcurrentAgents) ? Math.max(1, Math.floor(maxConcurrentAgents)) : 1;
}

/** Clamps a concurrency to [1, cap]. */
export function clampConcurrency(value: number, cap: number): number {
  if (Number.isNaN(value)) return 1;
  return Math.min(cap, Math.max(1, Math.floor(value)));
}

/** Per profile, the largest number of subtasks of that profile on one DAG level. */
export function widthPerProfile(facts: DagFacts): Int32Array {
  const counts = new Map<number, number>();
  const width = new Int32Array(facts.profileCount);
  for (let i = 0; i < facts.level.length; i++) {
    const p = facts.profile[i]!;
    const key = facts.level[i]! * facts.profileCount + p;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);
    if (count > width[p]!) width[p] = count;
  }
  return width;
}

/** Collects lanes per profile (profiles in first-appearance order), dropping empty ones. */
function flatten(perProfile: readonly number[][][]): Lanes {
  return perProfile.flatMap((lanes) => lanes.filter((lane) => lane.length > 0));
}

/** Per profile, `count[p]` empty lanes. */
function emptyLanes(count: Int32Array): number[][][] {
  return Array.from(count, (k) => Array.from({ length: k }, (): number[] => []));
}

/**
 * One agent at a time: the topological order cut into lanes, a new lane whenever the profile
 * changes (consecutive subtasks of the same profile share a lane).
 */
export function sequentialLanes(input: PlanInput): Lanes {
  const lanes: number[][] = [];
  let current: number[] | undefined;
  let profile: string | undefined;
  for (const i of input.order) {
    const next = input.subtasks[i]!.profile;
    if (current === undefined || next !== profile) {
      current = [];
      lanes.push(current);
      profile = next;
    }
    current.push(i);
  }
  return lanes;
}

/** Lane count per profile: min(cap, the profile's widest DAG level). */
function laneCounts(facts: DagFacts, cap: number): Int32Array {
  return widthPerProfile(facts).map((w) => Math.min(cap, w));
}

/**
 * Level by level: per profile, up to `maxConcurrentAgents` lanes; subtasks are taken level by
 * level, longest estimate first within a level, each onto the lane of its profile with the least
 * estimated load so far.
 */
export function levelLanes(input: PlanInput): Lanes {
  const facts = analyzeDag(input);
  const counts = laneCounts(facts, capOf(input.maxConcurrentAgents));
  const lanes = emptyLanes(counts);
  const load = lanes.map((profileLanes) => new Float64Array(profileLanes.length));
  const heaps = load.map((l) => {
    const heap = new Heap((a, b) => l[a]! < l[b]! || (l[a] === l[b] && a < b));
    for (let k = 0; k < l.length; k++) heap.push(k);
    return heap;
  });
  const { level, duration, rank } = facts;
  const byLevel = [...input.order].sort((a, b) => level[a]! - level[b]! || duration[b]! - duration[a]! || rank[a]! - rank[b]!);
  for (const i of byLevel) {
    const p = facts.profile[i]!;
    const lane = heaps[p]!.pop();
    lanes[p]![lane]!.push(i);
    load[p]![lane]! += duration[i]!;
    heaps[p]!.push(lane);
  }
  return flatten(lanes);
}

/** Ready-list order for list scheduling: largest bottom level first, ties by rank. */
export function criticalFirst(facts: DagFacts): (a: number, b: number) => boolean {
  const { bottomLevel, rank } = facts;
  return (a, b) => bottomLevel[a]! > bottomLevel[b]! || (bottomLevel[a] === bottomLevel[b] && rank[a]! < rank[b]!);
}

/** Per profile, a heap of its lanes by the time each becomes free (ties by lane number). */
function laneHeaps(free: readonly Float64Array[]): Heap[] {
  return free.map((f) => {
    const heap = new Heap((a, b) => f[a]! < f[b]! || (f[a] === f[b] && a < b));
    for (let k = 0; k < f.length; k++) heap.push(k);
    return heap;
  });
}

/**
 * HEFT-style list scheduling in estimated time onto min(maxConcurrentAgents, widest level) lanes
 * per profile: repeatedly take the ready subtask (every predecessor placed) with the largest bottom
 * level and put it on the lane of its profile that can start it earliest, given when its
 * predecessors finish.
 */
export function listScheduleLanes(input: PlanInput): Lanes {
  const facts = analyzeDag(input);
  const n = input.subtasks.length;
  const lanes = emptyLanes(laneCounts(facts, capOf(input.maxConcurrentAgents)));
  const free = lanes.map((profileLanes) => new Float64Array(profileLanes.length));
  const byFree = laneHeaps(free);
  const waiting = Int32Array.from(input.preds, (p) => p.length);
  const readyAt = new Float64Array(n);
  const ready = new Heap(criticalFirst(facts));
  for (let i = 0; i < n; i++) if (waiting[i] === 0) ready.push(i);
  while (ready.size > 0) {
    const i = ready.pop();
    const p = facts.profile[i]!;
    const lane = byFree[p]!.pop();
    const finish = Math.max(readyAt[i]!, free[p]![lane]!) + facts.duration[i]!;
    lanes[p]![lane]!.push(i);
    free[p]![lane] = finish;
    byFree[p]!.push(lane);
    for (const s of input.succs[i]!) {
      readyAt[s] = Math.max(readyAt[s]!, finish);
      if (--waiting[s]! === 0) ready.push(s);
    }
  }
  return flatten(lanes);
}

/** Index in `ready` of the best subtask by `better`, optionally only among those `eligible`; -1 if none. */
export function pickBest(
  ready: readonly ReadySubtask[],
  better: (a: ReadySubtask, b: ReadySubtask) => boolean,
  eligible: (r: ReadySubtask) => boolean = () => true,
): number {
  let best = -1;
  ready.forEach((r, k) => {
    if (eligible(r) && (best < 0 || better(r, ready[best]!))) best = k;
  });
  return best;
}

/** Ready-subtask order: largest bottom level first, ties by smaller rank. */
export function criticalPathFirst(a: ReadySubtask, b: ReadySubtask): boolean {
  return a.bottomLevel > b.bottomLevel || (a.bottomLevel === b.bottomLevel && a.rank < b.rank);
}
