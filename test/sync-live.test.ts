/**
 * Synchronization points on real SubAgent processes: every point type and condition, every
 * onTimeout, participants that die or are retried. Plugins call `ctx.sync(pointId, value)`;
 * orderings are forced with direct messages, never with timing thresholds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CoordinatorEvent } from '../src/index.js';
import type { SynchronizationPoint } from '../src/schemas/strategy.js';
import type { CoordinationResult } from '../src/execution/types.js';
import { eventsOf, liveCoordinator, output, point, report, strategy, sub, task, type LiveCoordinator, type Step } from './live-helpers.js';

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

async function runWith(points: readonly SynchronizationPoint[], subtasks: Readonly<Record<string, readonly Step[]>>, extra: Parameters<typeof strategy>[1] = {}): Promise<CoordinationResult> {
  live = await liveCoordinator();
  const t = task(
    'sync',
    Object.entries(subtasks).map(([id, steps]) => sub(id, steps)),
  );
  return live.run(t, strategy('hybrid', { synchronizationPoints: [...points], ...extra }));
}

/** What `ctx.sync(pointId)` resolved with in a subtask (its log entry), or undefined. */
function synced(result: CoordinationResult, id: string, pointId: string): Readonly<Record<string, unknown>> | undefined {
  return output(result, id).log.find((entry) => entry['sync'] === pointId);
}

function syncEvents(events: readonly CoordinatorEvent[], pointId: string): { type: unknown; subtaskId: unknown }[] {
  return eventsOf(events, 'sync')
    .filter((e) => e.event['pointId'] === pointId)
    .map((e) => ({ type: e.event['type'], subtaskId: e.event['subtaskId'] }));
}

function firstIndex(events: readonly { type: unknown; subtaskId: unknown }[], type: string, subtaskId?: string): number {
  return events.findIndex((e) => e.type === type && (subtaskId === undefined || e.subtaskId === subtaskId));
}

describe('barrier', () => {
  it('all-complete: nobody passes until all three arrived; waiting does not count against the cap of 2', async () => {
    const meet: Step = { do: 'sync', point: 'meet' };
    const result = await runWith([point('meet', 'barrier')], { a: [meet], b: [meet], c: [meet] });
    expect(result.success).toBe(true);
    for (const id of ['a', 'b', 'c']) expect((synced(result, id, 'meet')?.['value'] as { arrived: string[] }).arrived.sort()).toEqual(['a', 'b', 'c']);
    const events = syncEvents(live!.events, 'meet');
    const lastArrive = events.map((e) => e.type).lastIndexOf('sync-arrive');
    expect(events.filter((e) => e.type === 'sync-arrive')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'sync-release')).toHaveLength(3);
    expect(firstIndex(events, 'sync-release')).toBeGreaterThan(lastArrive);
    // With a cap of 2, the third subtask could only start while the first two waited.
    const starts = eventsOf(live!.events, 'subtask-start');
    const firstArrive = live!.events.findIndex((e) => e.type === 'sync' && e.event['type'] === 'sync-arrive');
    expect(live!.events.indexOf(starts[2]!)).toBeGreaterThan(firstArrive);
  });

  it('graceful-degradation: a participant that dies at the barrier no longer holds the others', async () => {
    const result = await runWith([point('meet', 'barrier')], {
      a: [{ do: 'send', to: 'c', body: 'here' }, { do: 'sync', point: 'meet' }],
      b: [{ do: 'send', to: 'c', body: 'here' }, { do: 'sync', point: 'meet' }],
      c: [{ do: 'receive', count: 2 }, { do: 'exit', code: 3 }],
    });
    expect(result.success).toBe(false);
    expect(report(result, 'c')).toMatchObject({ status: 'failed', error: { code: 'AGENT_CRASHED' } });
    for (const id of ['a', 'b']) {
      expect(report(result, id).status).toBe('succeeded');
      expect((synced(result, id, 'meet')?.['value'] as { arrived: string[] }).arrived.sort()).toEqual(['a', 'b']);
    }
  });

  it('retry-cascade: the barrier waits for a participant that crashed and is retried, and releases with its retry', async () => {
    const result = await runWith(
      [point('meet', 'barrier')],
      { steady: [{ do: 'sync', point: 'meet' }], flaky: [{ do: 'exit', code: 3, attempt: 1 }, { do: 'sync', point: 'meet' }] },
      { failureHandling: 'retry-cascade' },
    );
    expect(result.success).toBe(true);
    expect(report(result, 'flaky').attempts).toBe(2);
    for (const id of ['steady', 'flaky']) expect((synced(result, id, 'meet')?.['value'] as { arrived: string[] }).arrived.sort()).toEqual(['flaky', 'steady']);
  });
});

describe('checkpoint', () => {
  it('saves state before the crash; ctx.restore() gives it to the retry on a fresh agent', async () => {
    const result = await runWith([point('saved', 'checkpoint', { participatingAgents: ['worker'] })], {
      worker: [
        { do: 'restore' },
        { do: 'sync', point: 'saved', value: { done: ['step-1'], cursor: 42 }, attempt: 1 },
        { do: 'exit', code: 3, attempt: 1 },
      ],
    }, { failureHandling: 'retry-cascade' });
    expect(result.success).toBe(true);
    expect(report(result, 'worker').attempts).toBe(2);
    expect(output(result, 'worker')).toMatchObject({ attempt: 2, log: [{ restored: { done: ['step-1'], cursor: 42 } }] });
    const starts = eventsOf(live!.events, 'subtask-start');
    expect(starts).toHaveLength(2);
    expect(starts[1]!.agentId).not.toBe(starts[0]!.agentId);
  });

  it('releases with the subtasks whose state was saved', async () => {
    const save = (n: number): Step => ({ do: 'sync', point: 'cp', value: { n } });
    const result = await runWith([point('cp', 'checkpoint')], { a: [save(1), { do: 'restore' }], b: [save(2), { do: 'restore' }] });
    expect(result.success).toBe(true);
    expect((synced(result, 'a', 'cp')?.['value'] as { saved: string[] }).saved.sort()).toEqual(['a', 'b']);
    expect(output(result, 'a').log[1]).toEqual({ restored: { n: 1 } });
    expect(output(result, 'b').log[1]).toEqual({ restored: { n: 2 } });
  });
});

describe('decision', () => {
  it('majority decides for everyone; unanimous fails for everyone when they disagree', async () => {
    const vote = (choice: string): Step[] => [
      { do: 'sync', point: 'vote', value: choice },
      { do: 'sync', point: 'agree', value: choice, catch: true },
    ];
    const result = await runWith(
      [point('vote', 'decision'), point('agree', 'decision', { condition: { type: 'all-complete', parameters: { rule: 'unanimous' } } })],
      { a: vote('left'), b: vote('right'), c: vote('left') },
      { maxConcurrentAgents: 3 },
    );
    expect(result.success).toBe(true);
    for (const id of ['a', 'b', 'c']) {
      expect(synced(result, id, 'vote')).toEqual({ sync: 'vote', value: 'left' });
      expect(synced(result, id, 'agree')).toEqual({ sync: 'agree', error: 'AGENT_ERROR' });
    }
  });
});

describe('aggregation', () => {
  it('reduces every contribution and gives everyone the result', async () => {
    const give = (n: number): Step[] => [{ do: 'sync', point: 'total', value: n }];
    const result = await runWith([point('total', 'aggregation', { condition: { type: 'all-complete', parameters: { reducer: 'sum' } } })], { a: give(1), b: give(2), c: give(3) });
    expect(result.success).toBe(true);
    for (const id of ['a', 'b', 'c']) expect(synced(result, id, 'total')?.['value']).toBe(6);
  });
});

describe('conditions', () => {
  it('majority-complete: releases at 2 of 3; the third arrives later and gets the same outcome', async () => {
    const result = await runWith([point('most', 'barrier', { condition: { type: 'majority-complete', parameters: {} } })], {
      a: [{ do: 'sync', point: 'most' }, { do: 'send', to: 'c', body: 'released' }],
      b: [{ do: 'sync', point: 'most' }],
      c: [{ do: 'receive' }, { do: 'sync', point: 'most' }],
    });
    expect(result.success).toBe(true);
    for (const id of ['a', 'b', 'c']) expect((synced(result, id, 'most')?.['value'] as { arrived: string[] }).arrived.sort()).toEqual(['a', 'b']);
    const events = syncEvents(live!.events, 'most');
    expect(firstIndex(events, 'sync-release')).toBeLessThan(firstIndex(events, 'sync-arrive', 'c'));
  });

  it('specific-agents: releases when the named participant arrives, without waiting for the others', async () => {
    const result = await runWith(
      [point('named', 'barrier', { condition: { type: 'specific-agents', parameters: { agents: ['a'] } } })],
      {
        a: [{ do: 'sync', point: 'named' }, { do: 'send', to: 'c', body: 'released' }],
        b: [{ do: 'sync', point: 'named' }],
        c: [{ do: 'receive' }, { do: 'sync', point: 'named' }],
      },
      { maxConcurrentAgents: 3 },
    );
    expect(result.success).toBe(true);
    const value = synced(result, 'a', 'named')?.['value'] as { arrived: string[] };
    expect(value.arrived).toContain('a');
    expect(value.arrived).not.toContain('c');
    for (const id of ['b', 'c']) expect(synced(result, id, 'named')?.['value']).toEqual(value);
    const events = syncEvents(live!.events, 'named');
    expect(firstIndex(events, 'sync-release')).toBeGreaterThan(firstIndex(events, 'sync-arrive', 'a'));
    expect(firstIndex(events, 'sync-release')).toBeLessThan(firstIndex(events, 'sync-arrive', 'c'));
  });

  it('timeout: releases with whoever arrived when the time is up', async () => {
    const result = await runWith([point('window', 'barrier', { condition: { type: 'timeout', parameters: {} }, timeoutMs: 150 })], {
      a: [{ do: 'sync', point: 'window' }, { do: 'send', to: 'b', body: 'closed' }],
      b: [{ do: 'receive' }, { do: 'sync', point: 'window' }],
    });
    expect(result.success).toBe(true);
    for (const id of ['a', 'b']) expect(synced(result, id, 'window')?.['value']).toEqual({ arrived: ['a'] });
    expect(syncEvents(live!.events, 'window').map((e) => e.type)).toContain('sync-timeout');
  });
});

describe('onTimeout', () => {
  it('wait: the timer only reports; the point still waits for everyone', async () => {
    const result = await runWith([point('slow', 'barrier', { timeoutMs: 50, onTimeout: 'wait' })], {
      a: [{ do: 'send', to: 'b', body: 'arriving' }, { do: 'sync', point: 'slow' }],
      b: [{ do: 'receive' }, { do: 'sleep', ms: 400 }, { do: 'sync', point: 'slow' }],
    });
    expect(result.success).toBe(true);
    for (const id of ['a', 'b']) expect((synced(result, id, 'slow')?.['value'] as { arrived: string[] }).arrived.sort()).toEqual(['a', 'b']);
    const events = syncEvents(live!.events, 'slow');
    expect(firstIndex(events, 'sync-timeout')).toBeGreaterThan(firstIndex(events, 'sync-arrive', 'a'));
    expect(firstIndex(events, 'sync-timeout')).toBeLessThan(firstIndex(events, 'sync-arrive', 'b'));
  });

  it('proceed: releases with whoever arrived; a later arrival gets the same outcome', async () => {
    const result = await runWith([point('go', 'barrier', { timeoutMs: 100, onTimeout: 'proceed' })], {
      a: [{ do: 'sync', point: 'go' }, { do: 'send', to: 'b', body: 'released' }],
      b: [{ do: 'receive' }, { do: 'sync', point: 'go' }],
    });
    expect(result.success).toBe(true);
    for (const id of ['a', 'b']) expect(synced(result, id, 'go')?.['value']).toEqual({ arrived: ['a'] });
  });

  it('fail: the waiting participant and later arrivals get SYNC_TIMEOUT', async () => {
    const result = await runWith([point('strict', 'barrier', { timeoutMs: 100, onTimeout: 'fail' })], {
      a: [{ do: 'sync', point: 'strict', catch: true }, { do: 'send', to: 'b', body: 'timed out' }],
      b: [{ do: 'receive' }, { do: 'sync', point: 'strict' }],
    });
    expect(result.success).toBe(false);
    expect(synced(result, 'a', 'strict')).toEqual({ sync: 'strict', error: 'SYNC_TIMEOUT' });
    expect(report(result, 'b')).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'SYNC_TIMEOUT', category: 'TIMEOUT' } });
    expect(report(result, 'b').error?.message).toContain("'strict'");
    expect(result.error?.code).toBe('SYNC_TIMEOUT');
  });
});

describe('misuse', () => {
  it('an unknown point or a non-participant is NOT_FOUND for the plugin', async () => {
    const result = await runWith([point('only-a', 'barrier', { participatingAgents: ['a'] })], {
      a: [{ do: 'sync', point: 'only-a' }, { do: 'sync', point: 'nowhere', catch: true }],
      b: [{ do: 'sync', point: 'only-a', catch: true }],
    });
    expect(result.success).toBe(true);
    expect(synced(result, 'a', 'only-a')?.['value']).toEqual({ arrived: ['a'] });
    expect(synced(result, 'a', 'nowhere')).toEqual({ sync: 'nowhere', error: 'NOT_FOUND' });
    expect(synced(result, 'b', 'only-a')).toEqual({ sync: 'only-a', error: 'NOT_FOUND' });
  });
});
