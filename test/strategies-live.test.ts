/**
 * The built-in strategies on real SubAgent processes: order and concurrency as observed from the
 * subtasks' real start and end times and from the coordinator's events. Only orderings and
 * overlaps are compared, never durations.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CoordinatorEvent } from '../src/index.js';
import { eventsOf, interval, liveCoordinator, maxOverlap, output, strategy, sub, task, type LiveCoordinator } from './live-helpers.js';

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

async function coordinator(config: Parameters<typeof liveCoordinator>[0] = {}): Promise<LiveCoordinator> {
  live = await liveCoordinator(config);
  return live;
}

/** Most subtasks running at once according to the subtask-start / subtask-end events of a run. */
function runningAtOnce(events: readonly CoordinatorEvent[], coordinationId: string): number {
  let running = 0;
  let most = 0;
  for (const e of events) {
    if (e.type === 'subtask-start' && e.coordinationId === coordinationId) most = Math.max(most, ++running);
    else if (e.type === 'subtask-end' && e.coordinationId === coordinationId && e.agentId !== undefined) running--;
  }
  return most;
}

/** DAG a → c, b → d: `a` waits for a message from `d` (up to `waitMs`), `d` sends it. */
function wakeTask(waitMs: number) {
  return task(
    'wake',
    [
      sub('a', [{ do: 'receive', timeoutMs: waitMs }]),
      sub('b', [{ do: 'busy', ms: 20 }]),
      sub('c', [{ do: 'busy', ms: 20 }]),
      sub('d', [{ do: 'send', to: 'a', body: 'd started' }]),
    ],
    { c: ['a'], d: ['b'] },
  );
}

describe('sequential', () => {
  it('never runs two subtasks at once, and runs each after what it waits for', async () => {
    const c = await coordinator();
    const subtasks = ['a', 'b', 'c', 'd'].map((id) => sub(id, [{ do: 'busy', ms: 50 }]));
    const result = await c.run(task('seq', subtasks, { d: ['a'] }), strategy('sequential', { maxConcurrentAgents: 3 }));
    expect(result.success).toBe(true);
    const spans = ['a', 'b', 'c', 'd'].map((id) => interval(result, id));
    for (const [i, x] of spans.entries()) for (const y of spans.slice(i + 1)) expect(x.end <= y.start || y.end <= x.start).toBe(true);
    expect(maxOverlap(spans)).toBe(1);
    expect(runningAtOnce(c.events, result.coordinationId)).toBe(1);
    expect(interval(result, 'd').start).toBeGreaterThanOrEqual(interval(result, 'a').end);
    expect(eventsOf(c.events, 'concurrency').map((e) => e.value)).toEqual([1]);
  });
});

describe('parallel', () => {
  it('runs level by level: the second level starts only once the whole first level ended', async () => {
    const c = await coordinator();
    const result = await c.run(wakeTask(300), strategy('parallel'));
    expect(result.success).toBe(true);
    const [a, b, cc, d] = ['a', 'b', 'c', 'd'].map((id) => interval(result, id));
    const firstLevelEnd = Math.max(a!.end, b!.end);
    expect(cc!.start).toBeGreaterThanOrEqual(firstLevelEnd);
    expect(d!.start).toBeGreaterThanOrEqual(firstLevelEnd);
    // `a` was never woken: `d` only started after it ended.
    expect(output(result, 'a').log).toEqual([{ received: null }]);
    expect(maxOverlap([a!, b!, cc!, d!])).toBeLessThanOrEqual(2);
  });
});

describe('hybrid', () => {
  it('starts a subtask as soon as its inputs exist: d runs while a still runs', async () => {
    const c = await coordinator();
    const result = await c.run(wakeTask(20_000), strategy('hybrid'));
    expect(result.success).toBe(true);
    const [a, b, cc, d] = ['a', 'b', 'c', 'd'].map((id) => interval(result, id));
    expect(d!.start).toBeGreaterThanOrEqual(b!.end);
    expect(d!.start).toBeLessThan(a!.end);
    expect(cc!.start).toBeGreaterThanOrEqual(a!.end);
    // `a` ended because `d` woke it, which needs `d` running before `a` ended.
    expect(output(result, 'a').log).toEqual([{ received: [{ from: 'd', body: 'd started' }] }]);
    expect(maxOverlap([a!, b!, cc!, d!])).toBeLessThanOrEqual(2);
    expect(runningAtOnce(c.events, result.coordinationId)).toBeLessThanOrEqual(2);
  });
});

describe('adaptive', () => {
  it('lowers concurrency under memory pressure and raises it again when there is room', async () => {
    // The budget admits three 256 MB agents in 800 MB; three holding 150 MB each leave no room
    // (by resident memory) for a fourth, so the scheduler falls back below the budget's cap.
    const c = await coordinator({ resources: { maxTotalMemory: 800 } });
    const subtasks = Array.from({ length: 6 }, (_, i) => sub(`m${i}`, [{ do: 'hold', mb: 150 }, { do: 'sleep', ms: 400 }], { executionConstraints: { maxMemory: 256 } }));
    const result = await c.run(task('pressure', subtasks), strategy('adaptive', { maxConcurrentAgents: 4 }));
    expect(result.success).toBe(true);
    const changes = eventsOf(c.events, 'concurrency').filter((e) => e.coordinationId === result.coordinationId);
    const values = changes.map((e) => e.value);
    // A rise, then a fall for memory, then a rise again.
    const fall = changes.findIndex((e, k) => k > 0 && e.value < changes[k - 1]!.value && /memory|fit/.test(e.reason));
    expect(fall).toBeGreaterThan(0);
    expect(values.slice(0, fall).some((v, k) => k > 0 && v > values[k - 1]!)).toBe(true);
    expect(values.slice(fall + 1).some((v) => v > values[fall]!)).toBe(true);
    expect(Math.max(...values)).toBeLessThanOrEqual(4);
    expect(maxOverlap(subtasks.map((s) => interval(result, s.id)))).toBeLessThanOrEqual(4);
  });
});
