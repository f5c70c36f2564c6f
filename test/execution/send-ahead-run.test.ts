/**
 * Runs whose short subtasks are sent ahead to their agents (`dispatch.prefetch`, on by default),
 * with real agents: a barrier whose participants may sit queued behind each other still
 * releases (a subtask waiting at it never holds up the ones queued behind it for long), a
 * fail-fast run cancels what was queued and leaves no process, and with `prefetch: 0` the
 * same run gives the same outputs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { liveCoordinator, output, point, report, strategy, sub, task, type LiveCoordinator, type Step } from '../live-helpers.js';

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

const QUICK: Step[] = [{ do: 'inputs' }];
const quick = (n: number, prefix = 's') => Array.from({ length: n }, (_, i) => sub(`${prefix}${i}`, QUICK));

describe('short subtasks sent ahead (real agents)', () => {
  it('a barrier among subtasks that may be queued behind each other on one agent still releases', async () => {
    live = await liveCoordinator();
    const meet: Step = { do: 'sync', point: 'meet', value: 1 };
    const subtasks = [...quick(40), sub('b1', [meet]), sub('b2', [meet]), sub('b3', [meet])];
    const after = { b1: ['s39'], b2: ['s39'], b3: ['s39'] };
    const result = await live.run(task('ahead-barrier', subtasks, after), strategy('hybrid', { maxConcurrentAgents: 1, synchronizationPoints: [point('meet', 'barrier', { participatingAgents: ['b1', 'b2', 'b3'] })] }));
    expect(result.success).toBe(true);
    for (const id of ['b1', 'b2', 'b3']) expect(output(result, id).log).toEqual([{ sync: 'meet', value: expect.anything() }]);
    for (let i = 0; i < 40; i++) expect(output(result, `s${i}`).subtask).toBe(`s${i}`);
  });

  it('fail-fast cancels what was sent ahead: every subtask ends, the run fails with the failure, no agent is left', async () => {
    live = await liveCoordinator();
    const subtasks = [...quick(30), sub('boom', [{ do: 'throw', message: 'boom' }]), ...quick(30, 't')];
    const after = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`t${i}`, ['s29']]));
    const result = await live.run(task('ahead-failfast', subtasks, { ...after, boom: ['s29'] }), strategy('parallel', { maxConcurrentAgents: 1, failureHandling: 'fail-fast' }));
    expect(result.success).toBe(false);
    expect(report(result, 'boom')).toMatchObject({ status: 'failed', error: { code: 'AGENT_ERROR' } });
    const statuses = new Set(result.aggregatedResult.subtasks.map((s) => s.status));
    for (const s of statuses) expect(['succeeded', 'failed', 'cancelled', 'skipped']).toContain(s);
    for (let i = 0; i < 30; i++) expect(report(result, `s${i}`).status).toBe('succeeded');
  });

  it('with dispatch.prefetch 0 the same run gives the same outputs', async () => {
    const t = task('ahead-same', quick(60));
    live = await liveCoordinator();
    const on = await live.run(t, strategy('parallel', { maxConcurrentAgents: 2 }));
    expect(await live.close()).toBe(true);
    live = await liveCoordinator({ dispatch: { prefetch: 0 } });
    const off = await live.run(t, strategy('parallel', { maxConcurrentAgents: 2 }));
    expect(on.success && off.success).toBe(true);
    const outs = (r: typeof on) => Object.fromEntries(Object.entries(r.aggregatedResult.outputs).map(([id, o]) => [id, (o as { result: { subtask: string; attempt: number } }).result.subtask]));
    expect(outs(on)).toEqual(outs(off));
  });
});
