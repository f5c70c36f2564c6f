import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineStrategy, type PlanInput, type ReadySubtask, type SchedulerState, type StrategyPlugin } from 'qicoord/plugin';
import adaptive from '../plugins/strategies/adaptive.js';
import hybrid from '../plugins/strategies/hybrid.js';
import { analyzeDag, Heap } from '../plugins/strategies/lanes.js';
import parallel from '../plugins/strategies/parallel.js';
import sequential from '../plugins/strategies/sequential.js';
import { dag, laneProblems, randomLayeredDag, seeded, simulate, type Edge } from './strategy-sim.js';

const all: readonly StrategyPlugin[] = [sequential, parallel, hybrid, adaptive];

/** 16 independent 100 ms subtasks. */
const sixteen = (cap: number): PlanInput => dag(new Array<number>(16).fill(100), [], cap);

const diamond = dag([100, 300, 200, 100], [[0, 1], [0, 2], [1, 3], [2, 3]], 2);

const mixedProfiles = randomLayeredDag({ n: 120, seed: 7, layers: 12, edgesPerNode: 3, maxConcurrentAgents: 3, profiles: ['a', 'b'] });

const big = randomLayeredDag({ n: 10_000, seed: 42, layers: 100, edgesPerNode: 3, maxConcurrentAgents: 8, profiles: ['a', 'b', 'c'] });

function state(over: Partial<Omit<SchedulerState, 'memory' | 'cpu'>> & { usedMB?: number; budgetMB?: number; perAgentMB?: number; cpu?: number; cores?: number } = {}): SchedulerState {
  const { usedMB = 100, budgetMB = 1000, perAgentMB = 50, cpu = 50, cores = 4, ...rest } = over;
  return {
    running: 1,
    completed: 0,
    failed: 0,
    total: 100,
    lowestOpenLevel: 0,
    latencyRatio: undefined,
    ...rest,
    memory: { usedMB, budgetMB, perAgentMB },
    cpu: { percent: cpu, cores },
  };
}

function ready(index: number, over: Partial<ReadySubtask> = {}): ReadySubtask {
  return { index, id: `t${index}`, rank: index, bottomLevel: 100, level: 0, estimatedDuration: 100, ...over };
}

describe('plans', () => {
  const inputs: [string, PlanInput][] = [
    ['diamond', diamond],
    ['16 independent', sixteen(2)],
    ['random, two profiles', mixedProfiles],
    ['10,000 subtasks, three profiles', big],
  ];
  for (const strategy of all) {
    for (const [label, input] of inputs) {
      it(`${strategy.name}: covers each subtask once, one profile per lane, DAG order (${label})`, () => {
        expect(laneProblems(input, strategy.plan(input))).toEqual([]);
      });
    }
    it(`${strategy.name}: an empty DAG has no lanes`, () => {
      expect(strategy.plan(dag([], [], 4))).toEqual([]);
    });
    it(`${strategy.name}: has a description`, () => {
      expect(strategy.description?.length ?? 0).toBeGreaterThan(20);
    });
  }

  it('sequential: topological order, a new lane whenever the profile changes', () => {
    const input = dag([1, 1, 1, 1, 1], [[0, 1], [1, 2], [2, 3], [3, 4]], 4, ['a', 'a', 'b', 'a', 'a']);
    expect(sequential.plan(input)).toEqual([[0, 1], [2], [3, 4]]);
  });

  it('parallel: balances 16 equal subtasks over 2 lanes, 8 each', () => {
    const lanes = parallel.plan(sixteen(2));
    expect(lanes.map((l) => l.length)).toEqual([8, 8]);
  });

  it('parallel: level by level, longest first within a level, onto the least-loaded lane', () => {
    const input = dag([100, 400, 300, 50, 80], [[0, 3], [1, 4]], 2);
    expect(parallel.plan(input)).toEqual([
      [1, 4],
      [2, 0, 3],
    ]);
  });

  it('parallel: never more lanes per profile than the cap or the widest level', () => {
    const lanes = parallel.plan(dag([1, 1, 1], [[0, 1], [1, 2]], 4));
    expect(lanes).toEqual([[0, 1, 2]]);
    expect(parallel.plan(sixteen(3))).toHaveLength(3);
  });

  it('hybrid: list scheduling takes the critical path first', () => {
    // 0 → 2 is the critical path (bottom level 500); 1 is independent and comes earlier in rank.
    expect(hybrid.plan(dag([100, 50, 400], [[0, 2]], 1))).toEqual([[0, 2, 1]]);
  });

  it('hybrid: a subtask goes on the lane that can start it earliest', () => {
    // 0 (300 ms) → 3; 1 and 2 (100 ms each) fill the other lane, which is free at 200 < 300.
    expect(hybrid.plan(dag([300, 100, 100, 50], [[0, 3]], 2))).toEqual([[0], [1, 2, 3]]);
  });

  it('hybrid/adaptive: min(cap, widest level) lanes per profile', () => {
    const input = dag([1, 1, 1, 1], [], 8, ['a', 'a', 'b', 'a']);
    expect(hybrid.plan(input)).toEqual([[0], [1], [3], [2]]);
    expect(adaptive.plan(input)).toEqual(hybrid.plan(input));
    expect(hybrid.plan(sixteen(2))).toHaveLength(2);
  });
});

describe('DAG facts and heap', () => {
  it('computes level, bottom level and rank', () => {
    const facts = analyzeDag(diamond);
    expect([...facts.level]).toEqual([0, 1, 1, 2]);
    expect([...facts.bottomLevel]).toEqual([500, 400, 300, 100]);
    expect([...facts.rank]).toEqual([0, 1, 2, 3]);
  });

  it('the heap pops in order', () => {
    const rnd = seeded(3);
    const values = Array.from({ length: 200 }, () => Math.floor(rnd() * 1000));
    const heap = new Heap((a, b) => a < b);
    for (const v of values) heap.push(v);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop());
    expect(out).toEqual([...values].sort((a, b) => a - b));
    expect(heap.pop()).toBe(-1);
  });
});

describe('sequential scheduler', () => {
  it('runs one at a time in topological order', () => {
    const run = simulate(sequential, mixedProfiles);
    expect(run.maxRunning).toBe(1);
    expect(run.startOrder).toEqual(mixedProfiles.order);
    expect(run.concurrencies.every((c) => c === 1)).toBe(true);
  });

  it('makespan is the sum of durations', () => {
    expect(simulate(sequential, sixteen(2)).makespan).toBe(1600);
  });

  it('picks the smallest rank', () => {
    const scheduler = sequential.createScheduler(diamond);
    expect(scheduler.pick([ready(0, { rank: 5 }), ready(1, { rank: 2 }), ready(2, { rank: 9 })], state())).toBe(1);
    expect(scheduler.pick([], state())).toBe(-1);
  });
});

describe('parallel scheduler', () => {
  it('starts a level only after every lower level finished, within the cap', () => {
    const run = simulate(parallel, mixedProfiles);
    const facts = analyzeDag(mixedProfiles);
    const lastEndBelow = (level: number): number => Math.max(0, ...run.end.filter((_, i) => facts.level[i]! < level));
    run.start.forEach((start, i) => {
      expect(start).toBeGreaterThanOrEqual(lastEndBelow(facts.level[i]!));
      expect(run.openLevelAtStart[i]).toBe(facts.level[i]);
    });
    expect(run.maxRunning).toBeLessThanOrEqual(3);
  });

  it('picks the longest subtask of the lowest open level; none when no ready subtask is on it', () => {
    const scheduler = parallel.createScheduler(diamond);
    const list = [ready(0, { level: 1, estimatedDuration: 900 }), ready(1, { level: 0, estimatedDuration: 200 }), ready(2, { level: 0, estimatedDuration: 300 })];
    expect(scheduler.pick(list, state({ lowestOpenLevel: 0 }))).toBe(2);
    expect(scheduler.pick(list.slice(0, 1), state({ lowestOpenLevel: 0 }))).toBe(-1);
    expect(scheduler.concurrency(state())).toBe(2);
  });
});

describe('hybrid scheduler', () => {
  // 0 (100 ms) → 2 (400 ms); 1 (500 ms) is a slow sibling of 0.
  const slowSibling = dag([100, 500, 400], [[0, 2]], 2);

  it('starts a subtask when its last predecessor finishes, where parallel waits for the slow sibling', () => {
    const h = simulate(hybrid, slowSibling);
    const p = simulate(parallel, slowSibling);
    expect(h.start[2]).toBe(h.end[0]);
    expect(p.start[2]).toBe(p.end[1]);
    expect(h.makespan).toBe(500);
    expect(p.makespan).toBe(900);
    expect(h.makespan).toBeLessThan(p.makespan);
  });

  it('with slots to spare, every subtask starts exactly when its last predecessor ends', () => {
    const input = randomLayeredDag({ n: 60, seed: 11, layers: 6, edgesPerNode: 3, maxConcurrentAgents: 60 });
    const run = simulate(hybrid, input);
    run.start.forEach((start, i) => {
      expect(start).toBe(Math.max(0, ...input.preds[i]!.map((p) => run.end[p]!)));
    });
  });

  it('runs the critical path first', () => {
    // 0: 100 ms alone; 1 (100 ms) → 2 (900 ms).
    const input = dag([100, 100, 900], [[1, 2]], 1);
    const run = simulate(hybrid, input);
    expect(run.startOrder).toEqual([1, 2, 0]);
  });

  it('picks the largest bottom level, ties by rank', () => {
    const scheduler = hybrid.createScheduler(diamond);
    const list = [ready(0, { bottomLevel: 300, rank: 4 }), ready(1, { bottomLevel: 700, rank: 6 }), ready(2, { bottomLevel: 700, rank: 3 })];
    expect(scheduler.pick(list, state())).toBe(2);
  });
});

describe('16 × 100 ms on 2 agents', () => {
  for (const strategy of [parallel, hybrid, adaptive]) {
    it(`${strategy.name}: makespan is the ideal 800 ms`, () => {
      const run = simulate(strategy, sixteen(2));
      expect(run.makespan).toBe(800);
      expect(run.maxRunning).toBe(2);
    });
  }
});

describe('adaptive scheduler', () => {
  const cap8 = dag([100], [], 8);

  it('starts at min(2, cap)', () => {
    expect(adaptive.createScheduler(cap8).concurrency(state())).toBe(2);
    expect(adaptive.createScheduler(dag([100], [], 1)).concurrency(state())).toBe(1);
  });

  it('adds one per decision while there is room, up to the cap', () => {
    const scheduler = adaptive.createScheduler(cap8);
    const seen: number[] = [];
    for (let k = 0; k < 8; k++) {
      scheduler.onSample?.(state({ usedMB: 100 }));
      seen.push(scheduler.concurrency(state({ usedMB: 100 })));
    }
    expect(seen).toEqual([3, 4, 5, 6, 7, 8, 8, 8]);
    expect(scheduler.explain?.()).toMatch(/at the cap 8/);
  });

  it('halves under memory pressure and grows again when there is room', () => {
    const scheduler = adaptive.createScheduler(cap8);
    for (let k = 0; k < 6; k++) scheduler.onSample?.(state({ usedMB: 100 }));
    expect(scheduler.concurrency(state({ usedMB: 100 }))).toBe(8);
    const pressure = [300, 600, 800, 900];
    for (const usedMB of pressure) scheduler.onSample?.(state({ usedMB, running: 4 }));
    expect(scheduler.concurrency(state({ usedMB: 100, budgetMB: 100_000 }))).toBe(4);
    expect(scheduler.explain?.()).toMatch(/memory pressure 90%: halved 8 → 4/);
    scheduler.onSubtaskEnd?.({ index: 0, ok: true, durationMs: 100 }, state({ usedMB: 300 }));
    expect(scheduler.concurrency(state({ usedMB: 300 }))).toBe(5);
  });

  it('holds between the thresholds and ignores failed ends', () => {
    const scheduler = adaptive.createScheduler(cap8);
    scheduler.onSample?.(state({ usedMB: 750 }));
    expect(scheduler.concurrency(state())).toBe(2);
    expect(scheduler.explain?.()).toMatch(/holding at 2/);
    scheduler.onSubtaskEnd?.({ index: 0, ok: false, durationMs: 5 }, state({ usedMB: 950 }));
    expect(scheduler.concurrency(state())).toBe(2);
  });

  it('halves when one more agent would not fit', () => {
    const scheduler = adaptive.createScheduler(cap8);
    scheduler.onSample?.(state({ usedMB: 100 }));
    scheduler.onSample?.(state({ usedMB: 100 }));
    scheduler.onSample?.(state({ usedMB: 700, perAgentMB: 400, running: 2 }));
    expect(scheduler.explain?.()).toMatch(/would not fit.*halved 4 → 2/);
  });

  it('never returns more than fits the memory budget', () => {
    const scheduler = adaptive.createScheduler(cap8);
    for (let k = 0; k < 6; k++) scheduler.onSample?.(state({ usedMB: 100 }));
    // 250 MB free, 100 MB per agent, 3 running: 2 more fit.
    expect(scheduler.concurrency(state({ usedMB: 750, perAgentMB: 100, running: 3 }))).toBe(5);
    expect(scheduler.explain?.()).toMatch(/memory budget fits 5/);
    // Nothing fits: still at least 1.
    expect(scheduler.concurrency(state({ usedMB: 1200, perAgentMB: 100, running: 0 }))).toBe(1);
  });

  it('backs off when subtasks run over twice slower than estimated', () => {
    const scheduler = adaptive.createScheduler(cap8);
    for (let k = 0; k < 4; k++) scheduler.onSample?.(state());
    expect(scheduler.concurrency(state())).toBe(6);
    scheduler.onSubtaskEnd?.({ index: 0, ok: true, durationMs: 300 }, state({ latencyRatio: 2.5 }));
    expect(scheduler.concurrency(state())).toBe(3);
    expect(scheduler.explain?.()).toMatch(/2\.5× slower than estimated: halved 6 → 3/);
    scheduler.onSample?.(state({ latencyRatio: 2 }));
    expect(scheduler.concurrency(state())).toBe(4);
  });

  it('backs off on CPU saturation sustained for 2 samples with more agents than cores', () => {
    const scheduler = adaptive.createScheduler(cap8);
    for (let k = 0; k < 4; k++) scheduler.onSample?.(state());
    const hot = state({ cpu: 390, cores: 4, running: 6 });
    scheduler.onSample?.(hot);
    expect(scheduler.concurrency(hot)).toBe(6);
    scheduler.onSample?.(hot);
    expect(scheduler.concurrency(hot)).toBe(3);
    expect(scheduler.explain?.()).toMatch(/CPU 390% of 400% for 2 samples/);
  });

  it('keeps 2 agents that fill 2 cores (full use, not contention)', () => {
    const scheduler = adaptive.createScheduler(dag([100], [], 2));
    const busy = state({ cpu: 199, cores: 2, running: 2 });
    for (let k = 0; k < 5; k++) scheduler.onSample?.(busy);
    expect(scheduler.concurrency(busy)).toBe(2);
  });

  it('in a run, stays within the memory budget', () => {
    const input = randomLayeredDag({ n: 80, seed: 5, layers: 4, edgesPerNode: 2, maxConcurrentAgents: 8 });
    const run = simulate(adaptive, input, {
      environment: (running) => ({ memory: { usedMB: running * 100, budgetMB: 350, perAgentMB: 100 }, cpu: { percent: running * 10, cores: 8 } }),
    });
    expect(run.maxRunning).toBeLessThanOrEqual(3);
    expect(run.end.every((e) => e >= 0)).toBe(true);
  });
});

describe('concurrency bounds', () => {
  for (const strategy of all) {
    for (const cap of [1, 3]) {
      it(`${strategy.name}: every concurrency is within [1, ${cap}]`, () => {
        const input = randomLayeredDag({ n: 90, seed: 13 + cap, layers: 5, edgesPerNode: 3, maxConcurrentAgents: cap });
        const rnd = seeded(cap);
        const run = simulate(strategy, input, {
          durations: input.subtasks.map((s) => s.estimatedDuration * (0.5 + 3 * rnd())),
          environment: (running) => ({
            memory: { usedMB: running * 80 + rnd() * 300, budgetMB: 600, perAgentMB: 80 },
            cpu: { percent: rnd() * 800, cores: 4 },
          }),
        });
        expect(run.concurrencies.length).toBeGreaterThan(0);
        expect(run.concurrencies.every((c) => Number.isInteger(c) && c >= 1 && c <= cap)).toBe(true);
        expect(run.maxRunning).toBeLessThanOrEqual(cap);
      });
    }
  }
});

describe('types', () => {
  it('defineStrategy keeps the literal name and requires createScheduler', () => {
    expectTypeOf(sequential.name).toEqualTypeOf<'sequential'>();
    expectTypeOf(adaptive.name).toEqualTypeOf<'adaptive'>();
    const custom = defineStrategy({
      name: 'mine',
      kind: 'strategy',
      plan: () => [],
      createScheduler: () => ({ concurrency: () => 1, pick: () => -1 }),
    });
    expectTypeOf(custom.name).toEqualTypeOf<'mine'>();
    // @ts-expect-error createScheduler is required
    defineStrategy({ name: 'broken', kind: 'strategy', plan: () => [] });
  });

  it('edges are pairs', () => {
    expectTypeOf<Edge>().toEqualTypeOf<readonly [number, number]>();
  });
});
