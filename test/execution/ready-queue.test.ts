/**
 * Scheduling with no processes: the indexed ready heap, the ready queue's two paths (a declared
 * order → heap; a user's `pick` → list), the incremental largest memory limit, and each built-in
 * strategy's declared order choosing exactly what its `pick` chooses.
 */
import { describe, expect, it } from 'vitest';
import type { ReadySubtask, Scheduler, SchedulerState, StrategyPlugin } from 'qicoord/plugin';
import adaptive from '../../plugins/strategies/adaptive.js';
import hybrid from '../../plugins/strategies/hybrid.js';
import parallel from '../../plugins/strategies/parallel.js';
import sequential from '../../plugins/strategies/sequential.js';
import { ReadyHeap } from '../../src/execution/ready-heap.js';
import { ReadyQueue } from '../../src/execution/ready-queue.js';
import { seeded } from '../strategy-sim.js';

const views = (n: number, rand: () => number): ReadySubtask[] =>
  Array.from({ length: n }, (_, i) => ({ index: i, id: `s${i}`, rank: i, level: Math.floor(rand() * 4), bottomLevel: Math.floor(rand() * 50), estimatedDuration: Math.floor(rand() * 5) * 100 }));
const state = (lowestOpenLevel = 0): SchedulerState => ({
  running: 0,
  completed: 0,
  failed: 0,
  total: 10,
  lowestOpenLevel,
  memory: { usedMB: 0, budgetMB: 1000, perAgentMB: 64 },
  cpu: { percent: 0, cores: 2 },
  latencyRatio: undefined,
});

describe('ReadyHeap', () => {
  it('yields by the order through adds and deletes anywhere, each index once', () => {
    const rand = seeded(7);
    const all = views(200, rand);
    const heap = new ReadyHeap(all.length, (i) => all[i]!, (a, b) => a.bottomLevel > b.bottomLevel || (a.bottomLevel === b.bottomLevel && a.rank < b.rank));
    for (const v of all) heap.add(v.index);
    heap.add(3);
    expect(heap.size).toBe(200);
    for (let i = 0; i < 200; i += 3) heap.delete(i);
    heap.delete(0);
    expect(heap.has(0)).toBe(false);
    expect(heap.has(1)).toBe(true);
    const out: ReadySubtask[] = [];
    while (heap.size > 0) {
      const first = heap.first()!;
      out.push(first);
      heap.delete(first.index);
    }
    const expected = all.filter((v) => v.index % 3 !== 0).sort((a, b) => b.bottomLevel - a.bottomLevel || a.rank - b.rank);
    expect(out.map((v) => v.index)).toEqual(expected.map((v) => v.index));
    heap.add(5);
    heap.clear();
    expect([heap.size, heap.first(), heap.has(5), [...heap]]).toEqual([0, undefined, false, []]);
  });
});

describe('ReadyQueue', () => {
  it("without a declared order asks the scheduler's pick over the ready views; -1 starts none", () => {
    const all = views(5, seeded(1));
    let asked = 0;
    const scheduler: Scheduler = { concurrency: () => 1, pick: (ready) => (asked++ === 0 ? ready.findIndex((r) => r.index === 3) : -1) };
    const q = new ReadyQueue(scheduler, 5, (i) => all[i]!, () => 64);
    for (const v of all) q.add(v.index);
    expect(q.next(state())).toBe(3);
    expect(q.next(state())).toBeUndefined();
    expect([...q].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('keeps the largest memory limit of the ready subtasks as they come and go', () => {
    const all = views(4, seeded(2));
    const mb = [128, 512, 512, 256];
    const q = new ReadyQueue(hybrid.createScheduler({ subtasks: [], preds: [], succs: [], order: [], maxConcurrentAgents: 2 }), 4, (i) => all[i]!, (i) => mb[i]!);
    expect(q.maxMemoryMB()).toBe(0);
    for (const v of all) q.add(v.index);
    expect(q.maxMemoryMB()).toBe(512);
    q.delete(1);
    expect(q.maxMemoryMB()).toBe(512);
    q.delete(2);
    expect(q.maxMemoryMB()).toBe(256);
    q.delete(2);
    q.clear();
    expect([q.size, q.maxMemoryMB()]).toEqual([0, 0]);
  });

  const builtIns: [string, StrategyPlugin][] = [
    ['sequential', sequential],
    ['parallel', parallel],
    ['hybrid', hybrid],
    ['adaptive', adaptive],
  ];
  for (const [name, plugin] of builtIns) {
    it(`${name}: the declared order starts exactly what pick would, dispatch after dispatch`, () => {
      const rand = seeded(name.length);
      for (let round = 0; round < 20; round++) {
        const all = views(1 + Math.floor(rand() * 40), rand);
        const scheduler = plugin.createScheduler({ subtasks: [], preds: [], succs: [], order: [], maxConcurrentAgents: 4 });
        expect(scheduler.order).toBeDefined();
        const q = new ReadyQueue(scheduler, all.length, (i) => all[i]!, () => 64);
        const left = [...all];
        for (const v of all) q.add(v.index);
        while (left.length > 0) {
          // Now and then a lower level is still open (running): parallel then starts nothing.
          const s = state(Math.min(...left.map((v) => v.level)) - (rand() < 0.2 ? 1 : 0));
          const picked = left[scheduler.pick(left, s)];
          expect(q.next(s)).toBe(picked?.index);
          if (picked === undefined) break;
          q.delete(picked.index);
          left.splice(left.indexOf(picked), 1);
        }
      }
    });
  }

  it('parallel: starts none while the lowest open level has no ready subtask', () => {
    const all: ReadySubtask[] = [{ index: 0, id: 'a', rank: 0, level: 2, bottomLevel: 1, estimatedDuration: 1 }];
    const q = new ReadyQueue(parallel.createScheduler({ subtasks: [], preds: [], succs: [], order: [], maxConcurrentAgents: 4 }), 1, (i) => all[i]!, () => 64);
    q.add(0);
    expect(q.next(state(1))).toBeUndefined();
    expect(q.next(state(2))).toBe(0);
  });
});
