/**
 * Runs of a reentrant plugin (`concurrency: 4`) on real agents: `maxConcurrentAgents` counts
 * processes, each running up to its plugin's concurrency; a failure under fail-fast cancels the
 * subtasks running beside it (they wait for their ctx.signal) and leaves no process.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubTaskInput } from '../../src/schemas/task.js';
import { STEPS_PLUGIN, liveCoordinator, report, strategy, task, type LiveCoordinator } from '../live-helpers.js';

const REENTRANT = path.join(import.meta.dirname, '../fixtures/plugins/reentrant.mjs');

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

const sub = (id: string, inputs: Record<string, unknown>, extra: Partial<SubTaskInput> = {}): SubTaskInput => ({
  id,
  agent: 'reentrant',
  inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })),
  expectedOutputs: [{ name: 'out' }],
  executionConstraints: { maxMemory: 128 },
  ...extra,
});

describe('a reentrant plugin in a run (real agents)', () => {
  it('maxConcurrentAgents 1 runs its subtasks four at a time on one agent', async () => {
    live = await liveCoordinator({ plugins: [STEPS_PLUGIN, REENTRANT] });
    // Each returns only once four run at once in its process.
    const subtasks = Array.from({ length: 8 }, (_, i) => sub(`r${i}`, { gather: 4 }));
    const result = await live.run(task('reentrant-one-agent', subtasks), strategy('parallel', { maxConcurrentAgents: 1 }));
    expect(result.success).toBe(true);
    const outs = subtasks.map((s) => (result.aggregatedResult.outputs[s.id] as { out: { id: string; process: number; peak: number } }).out);
    expect(outs.map((o) => o.id)).toEqual(subtasks.map((s) => s.id));
    expect(outs.every((o) => o.peak === 4)).toBe(true);
    expect(new Set(outs.map((o) => o.process)).size).toBe(1);
    expect(new Set(subtasks.map((s) => report(result, s.id).agentId)).size).toBe(1);
  });

  it('with dispatch.prefetch 0 (nothing sent ahead) a reentrant agent still runs its subtasks at once', async () => {
    live = await liveCoordinator({ plugins: [STEPS_PLUGIN, REENTRANT], dispatch: { prefetch: 0 } });
    const subtasks = Array.from({ length: 4 }, (_, i) => sub(`r${i}`, { gather: 4 }));
    const result = await live.run(task('reentrant-no-prefetch', subtasks), strategy('parallel', { maxConcurrentAgents: 1 }));
    expect(result.success).toBe(true);
    expect(new Set(subtasks.map((s) => report(result, s.id).agentId)).size).toBe(1);
  });

  it('subtasks dispatched in one round go beside the first on its agent, even before it began: no second agent starts', async () => {
    live = await liveCoordinator({ plugins: [STEPS_PLUGIN, REENTRANT] });
    // `first` leaves its agent idle; its four dependents become ready at once and must overlap on one agent.
    const subtasks = [sub('first', { gather: 1 }), ...Array.from({ length: 4 }, (_, i) => sub(`d${i}`, { gather: 4 }))];
    const after = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`d${i}`, ['first']]));
    const result = await live.run(task('reentrant-round', subtasks, after), strategy('parallel', { maxConcurrentAgents: 2 }));
    expect(result.success).toBe(true);
    expect(new Set(subtasks.map((s) => report(result, s.id).agentId)).size).toBe(1);
  });

  it('fail-fast: a failure cancels the subtasks running beside it on its agent (each returns once its signal aborts); no process is left', async () => {
    live = await liveCoordinator({ plugins: [STEPS_PLUGIN, REENTRANT] });
    const subtasks = [sub('w1', { mode: 'until-aborted' }), sub('w2', { mode: 'until-aborted' }), sub('boom', { mode: 'throw' })];
    const result = await live.run(task('reentrant-failfast', subtasks), strategy('parallel', { maxConcurrentAgents: 1, failureHandling: 'fail-fast' }));
    expect(result.success).toBe(false);
    expect(report(result, 'boom')).toMatchObject({ status: 'failed', error: { code: 'AGENT_ERROR' } });
    for (const id of ['w1', 'w2']) expect(report(result, id)).toMatchObject({ status: 'cancelled', error: { code: 'CANCELLED' } });
  });
});
