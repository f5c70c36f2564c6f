import { existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { afterEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { qiError } from '../src/errors/catalogue.js';
import { SynchronizationPoint } from '../src/schemas/strategy.js';
import {
  type DecisionRule,
  type PointOutcome,
  type Reducer,
  type SyncEvent,
  SyncHub,
  type SyncHubOptions,
  canonicalJson,
} from '../src/sync/index.js';
import { err, issueLines, ok } from './helpers.js';

type PointInput = z.input<typeof SynchronizationPoint>;
type Outcome = Result<unknown, QiError>;

const hubs: SyncHub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.close();
});

function tempDir(): string {
  return realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-sync-')));
}

interface Setup {
  readonly hub: SyncHub;
  readonly events: SyncEvent[];
  readonly dir: string;
}

function setup(points: PointInput[], options: Partial<SyncHubOptions> = {}): Setup {
  const events: SyncEvent[] = [];
  const dir = options.checkpointDir ?? tempDir();
  const hub = new SyncHub({
    points: points.map((p) => SynchronizationPoint.parse(p)),
    allSubtasks: ['a', 'b', 'c', 'd'],
    failureHandling: 'graceful-degradation',
    checkpointDir: dir,
    onEvent: (e) => events.push(e),
    ...options,
  });
  hubs.push(hub);
  return { hub, events, dir };
}

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(p: Promise<T>): { readonly done: () => boolean; readonly promise: Promise<T> } {
  let settled = false;
  void p.then(() => {
    settled = true;
  });
  return { done: () => settled, promise: p };
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SyncHub: every point type under every condition', () => {
  const types = ['barrier', 'checkpoint', 'decision', 'aggregation'] as const;
  // Each scenario: who arrives, after how many arrivals the point must still be pending, who ends up released.
  const conditions = {
    'all-complete': { condition: { type: 'all-complete' }, arrive: ['c', 'a', 'd', 'b'], pendingAfter: 3, released: ['c', 'a', 'd', 'b'] },
    'majority-complete': { condition: { type: 'majority-complete' }, arrive: ['d', 'b', 'a'], pendingAfter: 2, released: ['d', 'b', 'a'] },
    'specific-agents': { condition: { type: 'specific-agents', parameters: { agents: ['b', 'd'] } }, arrive: ['a', 'd', 'b'], pendingAfter: 2, released: ['a', 'd', 'b'] },
    // timeout: nothing more arrives, so only the timer can release it (outcome.timedOut proves it)
    timeout: { condition: { type: 'timeout' }, arrive: ['c', 'a'], pendingAfter: 2, released: ['c', 'a'], timeoutMs: 30 },
  } as const;

  function expected(type: (typeof types)[number], released: readonly string[]): unknown {
    if (type === 'barrier') return { arrived: released };
    if (type === 'checkpoint') return { saved: released };
    if (type === 'decision') return 'same';
    // aggregation (default reducer concat): participant order a, b, c, d, whatever the arrival order
    return ['a', 'b', 'c', 'd'].filter((id) => released.includes(id)).map((id) => `v-${id}`);
  }

  for (const type of types) {
    for (const [name, s] of Object.entries(conditions)) {
      it(`${type} × ${name}`, async () => {
        const point: PointInput = { id: 'p', type, condition: s.condition, ...('timeoutMs' in s ? { timeoutMs: s.timeoutMs } : {}) };
        const { hub } = setup([point]);
        const value = (id: string): unknown => (type === 'decision' ? 'same' : `v-${id}`);
        const arrive = (id: string) => track(hub.arrive('p', id, `agent-${id}`, value(id)));
        const waits = s.arrive.slice(0, s.pendingAfter).map(arrive);
        if (name !== 'timeout') {
          await tick(20);
          for (const w of waits) expect(w.done()).toBe(false);
        }
        waits.push(...s.arrive.slice(s.pendingAfter).map(arrive));
        const results = await Promise.all(waits.map((w) => w.promise));
        for (const r of results) expect(ok(r)).toEqual(expected(type, s.released));
        const outcome = await hub.settled('p');
        expect(outcome).toMatchObject({ status: 'released', arrived: s.released, timedOut: name === 'timeout' });
      });
    }
  }

  it('a late arrival at a released point gets the same outcome at once', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier', condition: { type: 'majority-complete' } }]);
    const early = await Promise.all(['a', 'b', 'c'].map((id) => hub.arrive('p', id, `agent-${id}`)));
    expect(early.map(ok)).toEqual(Array(3).fill({ arrived: ['a', 'b', 'c'] }));
    expect(ok(await hub.arrive('p', 'd', 'agent-d'))).toEqual({ arrived: ['a', 'b', 'c'] });
  });

  it('majority-complete releases at 3 of 5', async () => {
    const { hub } = setup([{ id: 'm', type: 'barrier', condition: { type: 'majority-complete' } }], {
      allSubtasks: ['s1', 's2', 's3', 's4', 's5'],
    });
    const two = ['s1', 's2'].map((id) => track(hub.arrive('m', id, 'ag')));
    await tick();
    expect(two.every((w) => !w.done())).toBe(true);
    const third = await hub.arrive('m', 's3', 'ag');
    expect(ok(third)).toEqual({ arrived: ['s1', 's2', 's3'] });
    expect(ok(await two[0]!.promise)).toEqual({ arrived: ['s1', 's2', 's3'] });
  });

  it('specific-agents matches an agent id as well as a subtask id', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier', condition: { type: 'specific-agents', parameters: { agents: ['agent-7'] } } }]);
    expect(ok(await hub.arrive('p', 'c', 'agent-7'))).toEqual({ arrived: ['c'] });
  });

  it('a timeout condition releases early when everyone arrived', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier', condition: { type: 'timeout' }, timeoutMs: 60_000 }], { allSubtasks: ['a', 'b'] });
    const results = await Promise.all([hub.arrive('p', 'a', 'x'), hub.arrive('p', 'b', 'y')]);
    expect(results.map(ok)).toEqual([{ arrived: ['a', 'b'] }, { arrived: ['a', 'b'] }]);
    expect((await hub.settled('p')).timedOut).toBe(false);
  });
});

describe('SyncHub: onTimeout', () => {
  const barrier = (onTimeout: 'wait' | 'proceed' | 'fail'): PointInput => ({ id: 'p', type: 'barrier', timeoutMs: 25, onTimeout });

  it("wait: the timer only emits 'sync-timeout'; the point still waits for everyone", async () => {
    const { hub, events } = setup([barrier('wait')], { allSubtasks: ['a', 'b'] });
    const a = track(hub.arrive('p', 'a', 'x'));
    await tick(60);
    expect(events.some((e) => e.type === 'sync-timeout' && e.pointId === 'p')).toBe(true);
    expect(a.done()).toBe(false);
    expect(ok(await hub.arrive('p', 'b', 'y'))).toEqual({ arrived: ['a', 'b'] });
    expect(ok(await a.promise)).toEqual({ arrived: ['a', 'b'] });
    expect((await hub.settled('p')).timedOut).toBe(true);
  });

  it('proceed: releases with whoever arrived', async () => {
    const { hub } = setup([barrier('proceed')]);
    expect(ok(await hub.arrive('p', 'b', 'x'))).toEqual({ arrived: ['b'] });
    const outcome = await hub.settled('p');
    expect(outcome).toMatchObject({ status: 'released', timedOut: true, arrived: ['b'] });
  });

  it('fail: waiting and later arrivals get SYNC_TIMEOUT naming the point, the count and the fix', async () => {
    const { hub, events } = setup([barrier('fail')]);
    const e = err(await hub.arrive('p', 'a', 'x'));
    expect(e.code).toBe('SYNC_TIMEOUT');
    expect(e.message).toContain("'p'");
    expect(e.message).toContain('1 of 4');
    expect(e.message).toContain('raise timeoutMs');
    expect(e.context['missing']).toEqual(['b', 'c', 'd']);
    expect(err(await hub.arrive('p', 'b', 'y')).code).toBe('SYNC_TIMEOUT');
    expect((await hub.settled('p')).status).toBe('timed-out');
    expect(events.filter((ev) => ev.type === 'sync-fail').map((ev) => ev.subtaskId)).toEqual(['a', 'b']);
  });
});

describe('SyncHub: departures', () => {
  it('graceful-degradation: a subtask that ends without arriving no longer holds the barrier', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier' }], { allSubtasks: ['a', 'b', 'c'] });
    const waits = ['a', 'b'].map((id) => track(hub.arrive('p', id, `agent-${id}`)));
    await tick();
    expect(waits.some((w) => w.done())).toBe(false);
    hub.depart('c');
    for (const w of waits) expect(ok(await w.promise)).toEqual({ arrived: ['a', 'b'] });
  });

  it('retry-cascade also releases without the departed participant', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier' }], { allSubtasks: ['a', 'b'], failureHandling: 'retry-cascade' });
    const a = hub.arrive('p', 'a', 'x');
    hub.depart('b');
    expect(ok(await a)).toEqual({ arrived: ['a'] });
  });

  it('fail-fast: the point fails with CANCELLED for waiting and later arrivals', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier' }], { allSubtasks: ['a', 'b', 'c'], failureHandling: 'fail-fast' });
    const a = hub.arrive('p', 'a', 'x');
    hub.depart('c');
    const e = err(await a);
    expect(e.code).toBe('CANCELLED');
    expect(e.message).toContain("synchronization point 'p' cannot be reached: participant 'c' ended without arriving (fail-fast)");
    expect(err(await hub.arrive('p', 'b', 'y')).code).toBe('CANCELLED');
    expect((await hub.settled('p')).status).toBe('failed');
  });

  it('departing after arriving changes nothing', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier' }], { allSubtasks: ['a', 'b'], failureHandling: 'fail-fast' });
    const a = track(hub.arrive('p', 'a', 'x'));
    hub.depart('a');
    await tick();
    expect(a.done()).toBe(false);
    expect(ok(await hub.arrive('p', 'b', 'y'))).toEqual({ arrived: ['a', 'b'] });
  });

  it('departAgent: entries naming a dead agent stop holding the point', async () => {
    const { hub } = setup([{ id: 'p', type: 'aggregation', participatingAgents: ['agent-1', 'agent-2', 'agent-3'] }]);
    const one = hub.arrive('p', 'a', 'agent-1', [1]);
    const three = hub.arrive('p', 'c', 'agent-3', [3]);
    hub.depart('b'); // names no entry here: the point keeps waiting for agent-2
    await tick();
    hub.departAgent('agent-2');
    expect(ok(await one)).toEqual([1, 3]);
    expect(ok(await three)).toEqual([1, 3]);
  });

  it('departAgent under fail-fast fails the point, naming the agent', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier', participatingAgents: ['agent-1', 'agent-2'] }], { failureHandling: 'fail-fast' });
    const one = hub.arrive('p', 'a', 'agent-1');
    hub.departAgent('agent-2');
    expect(err(await one).message).toContain("agent 'agent-2' died without arriving");
  });

  it('a point whose participants all departed releases with what arrived', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier' }], { allSubtasks: ['a', 'b'] });
    hub.depart('a');
    hub.depart('b');
    const outcome = await hub.settled('p');
    expect(outcome.status).toBe('released');
    expect(outcome.result).toEqual(success({ arrived: [] }));
  });
});

describe('SyncHub: checkpoints', () => {
  it('writes each value to <dir>/checkpoints/<subtaskId>.json before the arrival counts, and restores it', async () => {
    const { hub, dir } = setup([{ id: 'cp', type: 'checkpoint' }], { allSubtasks: ['a', 'b'] });
    const a = track(hub.arrive('cp', 'a', 'x', { step: 3, items: ['k'] }));
    const file = path.join(dir, 'checkpoints', 'a.json');
    for (let i = 0; i < 400 && !existsSync(file); i++) await tick(5);
    await tick();
    expect(a.done()).toBe(false);
    expect(existsSync(file)).toBe(true);
    const record: unknown = JSON.parse(readFileSync(file, 'utf8'));
    expect(record).toMatchObject({ pointId: 'cp', subtaskId: 'a', value: { step: 3, items: ['k'] } });
    expect(ok(await hub.arrive('cp', 'b', 'y', 7))).toEqual({ saved: ['a', 'b'] });
    expect(ok(await a.promise)).toEqual({ saved: ['a', 'b'] });
    expect(await hub.restore('a')).toEqual({ step: 3, items: ['k'] });
    expect(await hub.restore('b')).toBe(7);
    expect(await hub.restore('c')).toBeUndefined();

    const fresh = setup([{ id: 'cp', type: 'checkpoint' }], { checkpointDir: dir });
    expect(await fresh.hub.restore('a')).toEqual({ step: 3, items: ['k'] });
  });

  it('rejects a subtask id that is not a safe file name', async () => {
    const { hub, dir } = setup([{ id: 'cp', type: 'checkpoint', participatingAgents: ['../evil'] }]);
    const e = err(await hub.arrive('cp', '../evil', 'x', 1));
    expect(e.code).toBe('INVALID_SPEC');
    expect(e.message).toContain('not a safe file name');
    expect(existsSync(path.join(dir, 'evil.json'))).toBe(false);
    expect(await hub.restore('../evil')).toBeUndefined();
  });
});

describe('SyncHub: decisions', () => {
  const decision = (rule?: string): PointInput => ({ id: 'd', type: 'decision', ...(rule ? { condition: { type: 'all-complete', parameters: { rule } } } : {}) });
  async function decide(s: Setup, proposals: Record<string, unknown>): Promise<Outcome[]> {
    return Promise.all(Object.entries(proposals).map(([id, v]) => s.hub.arrive('d', id, `agent-${id}`, v)));
  }

  it('majority (default): the most proposed value, deep-equal whatever the key order', async () => {
    const results = await decide(setup([decision()]), { a: { x: 1, y: 2 }, b: 'other', c: { y: 2, x: 1 }, d: 'other2' });
    for (const r of results) expect(ok(r)).toEqual({ x: 1, y: 2 });
  });

  it('majority: a tie goes to the value proposed first', async () => {
    const results = await decide(setup([decision('majority')]), { a: 'left', b: 'right', c: 'right', d: 'left' });
    expect(ok(results[0]!)).toBe('left');
    const flipped = await decide(setup([decision('majority')]), { a: 'right', b: 'left', c: 'left', d: 'right' });
    expect(ok(flipped[0]!)).toBe('right');
  });

  it('unanimous: the common value, or AGENT_ERROR for everyone when proposals differ', async () => {
    const agreed = await decide(setup([decision('unanimous')]), { a: [1], b: [1], c: [1], d: [1] });
    expect(ok(agreed[3]!)).toEqual([1]);
    const s = setup([decision('unanimous')]);
    const split = await decide(s, { a: 'yes', b: 'yes', c: 'no', d: 'yes' });
    for (const r of split) {
      const e = err(r);
      expect(e.code).toBe('AGENT_ERROR');
      expect(e.message).toContain("decision point 'd'");
      expect(e.message).toContain('not unanimous');
    }
    expect((await s.hub.settled('d')).status).toBe('failed');
  });

  it('first: the first proposal', async () => {
    const s = setup([decision('first')]);
    const results = await Promise.all(['c', 'a', 'b', 'd'].map((id) => s.hub.arrive('d', id, 'x', `from-${id}`)));
    expect(ok(results[1]!)).toBe('from-c');
  });

  it('a plugin rule decides, and its failure reaches everyone prefixed with the point', async () => {
    const max: DecisionRule = (p) => success(Math.max(...p.map(Number)));
    const veto: DecisionRule = () => failure(qiError('AGENT_ERROR', 'vetoed'));
    const rules = new Map<string, DecisionRule>([['max', max], ['veto', veto]]);
    expect(ok((await decide(setup([decision('max')], { rules }), { a: 3, b: 9, c: 4, d: 1 }))[0]!)).toBe(9);
    const e = err((await decide(setup([decision('veto')], { rules }), { a: 1, b: 2, c: 3, d: 4 }))[2]!);
    expect(e.message).toMatch(/^decision point 'd' \(rule 'veto'.*\): vetoed$/);
  });

  it('canonicalJson ignores key order', () => {
    expect(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null })).toBe(canonicalJson({ a: null, b: [1, { c: 2, d: 1 }] }));
  });
});

describe('SyncHub: aggregation', () => {
  const agg = (reducer?: string, participatingAgents?: string[]): PointInput => ({
    id: 'g',
    type: 'aggregation',
    ...(participatingAgents ? { participatingAgents } : {}),
    ...(reducer ? { condition: { type: 'all-complete', parameters: { reducer } } } : {}),
  });
  async function aggregate(s: Setup, values: [string, unknown][]): Promise<Outcome[]> {
    return Promise.all(values.map(([id, v]) => s.hub.arrive('g', id, `agent-${id}`, v)));
  }
  const inOrder: [string, unknown][] = [['d', 4], ['b', 2], ['a', 1], ['c', 3]];

  it('sum', async () => {
    expect(ok((await aggregate(setup([agg('sum')]), inOrder))[0]!)).toBe(10);
  });

  it('sum fails with INVALID_SPEC naming the participant that sent a non-number', async () => {
    const results = await aggregate(setup([agg('sum')]), [['a', 1], ['b', 'two'], ['c', 3], ['d', 4]]);
    const e = err(results[0]!);
    expect(e.code).toBe('INVALID_SPEC');
    expect(e.message).toContain("participant 'b'");
  });

  it('concat (default): arrays spread, other values appended, in participant order', async () => {
    const results = await aggregate(setup([agg()]), [['c', [5, 6]], ['a', 'x'], ['d', { k: 1 }], ['b', [2]]]);
    expect(ok(results[0]!)).toEqual(['x', 2, 5, 6, { k: 1 }]);
  });

  it('participant order follows participatingAgents, not arrival order', async () => {
    const results = await aggregate(setup([agg('concat', ['c', 'a', 'b'])]), [['a', 'A'], ['b', 'B'], ['c', 'C']]);
    expect(ok(results[0]!)).toEqual(['C', 'A', 'B']);
  });

  it('merge: shallow, later participant wins; a non-object fails', async () => {
    const values: [string, unknown][] = [['d', { k: 'd', z: 1 }], ['a', { k: 'a', x: 1 }], ['c', { k: 'c' }], ['b', { y: 2 }]];
    expect(ok((await aggregate(setup([agg('merge')]), values))[0]!)).toEqual({ k: 'd', x: 1, y: 2, z: 1 });
    const bad = await aggregate(setup([agg('merge')]), [['a', {}], ['b', {}], ['c', [1]], ['d', {}]]);
    expect(err(bad[0]!).message).toContain("participant 'c'");
  });

  it('a plugin reducer gets the values in participant order', async () => {
    const join: Reducer = (values) => values.join('|');
    const s = setup([agg('join')], { reducers: new Map([['join', join]]) });
    expect(ok((await aggregate(s, inOrder))[0]!)).toBe('1|2|3|4');
  });
});

describe('SyncHub.validate', () => {
  const parse = (points: PointInput[]): SynchronizationPoint[] => points.map((p) => SynchronizationPoint.parse(p));

  it('accepts valid points, plugin names included', () => {
    const points = parse([
      { id: 'g', type: 'aggregation', condition: { type: 'all-complete', parameters: { reducer: 'mine' } } },
      { id: 'd', type: 'decision', condition: { type: 'all-complete', parameters: { rule: 'unanimous' } } },
    ]);
    ok(SyncHub.validate(points, new Map([['mine', (v: readonly unknown[]) => v.length]])));
  });

  it('names every problem: unknown reducer and rule, missing agents and timeoutMs, duplicate ids', () => {
    const points = parse([
      { id: 'g', type: 'aggregation', condition: { type: 'all-complete', parameters: { reducer: 'avg' } } },
      { id: 'd', type: 'decision', condition: { type: 'all-complete', parameters: { rule: 'coin' } } },
      { id: 's', type: 'barrier', condition: { type: 'specific-agents' } },
      { id: 't', type: 'barrier', condition: { type: 'timeout' } },
      { id: 'g', type: 'barrier' },
    ]);
    const e = err(SyncHub.validate(points));
    expect(e.code).toBe('INVALID_SPEC');
    const lines = issueLines(e);
    expect(lines).toEqual([
      expect.stringContaining("synchronizationPoints[0].condition.parameters.reducer: unknown reducer 'avg'"),
      expect.stringContaining("synchronizationPoints[1].condition.parameters.rule: unknown rule 'coin'"),
      expect.stringContaining('synchronizationPoints[2].condition.parameters.agents'),
      expect.stringContaining('synchronizationPoints[3].timeoutMs'),
      expect.stringContaining("synchronizationPoints[4].id: duplicate synchronization point id 'g'"),
    ]);
  });

  it('a hub built with an invalid point fails arrivals there with INVALID_SPEC; other points still work', async () => {
    const { hub } = setup([{ id: 'bad', type: 'aggregation', condition: { type: 'all-complete', parameters: { reducer: 'avg' } } }, { id: 'ok', type: 'barrier' }], {
      allSubtasks: ['a'],
    });
    expect(err(await hub.arrive('bad', 'a', 'x', 1)).code).toBe('INVALID_SPEC');
    expect(ok(await hub.arrive('ok', 'a', 'x'))).toEqual({ arrived: ['a'] });
  });
});

describe('SyncHub: lookups, close, settled, summary, events', () => {
  it('an unknown point or a non-participant is NOT_FOUND, saying why', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier', participatingAgents: ['a', 'b'] }, { id: 'q', type: 'barrier' }]);
    const unknown = err(await hub.arrive('nope', 'a', 'x'));
    expect(unknown.code).toBe('NOT_FOUND');
    expect(unknown.message).toContain("unknown synchronization point 'nope' (known points: p, q)");
    const outsider = err(await hub.arrive('p', 'c', 'agent-c'));
    expect(outsider.code).toBe('NOT_FOUND');
    expect(outsider.message).toContain("subtask 'c' (agent 'agent-c') is not a participant of synchronization point 'p'");
    expect((await hub.settled('nope')).status).toBe('failed');
  });

  it('close() cancels waiting and later arrivals', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier', timeoutMs: 60_000 }]);
    const a = hub.arrive('p', 'a', 'x');
    await tick();
    hub.close();
    expect(err(await a).code).toBe('CANCELLED');
    expect(err(await hub.arrive('p', 'b', 'y')).code).toBe('CANCELLED');
    const outcome: PointOutcome = await hub.settled('p');
    expect(outcome.status).toBe('cancelled');
  });

  it('settled() resolves once the point releases', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier' }], { allSubtasks: ['a'] });
    const settled = track(hub.settled('p'));
    await tick();
    expect(settled.done()).toBe(false);
    await hub.arrive('p', 'a', 'x');
    expect(await settled.promise).toMatchObject({ pointId: 'p', status: 'released', arrived: ['a'] });
  });

  it('summary() counts points, arrivals and wait time; events carry waitedMs', async () => {
    let t = 1000;
    const { hub, events } = setup(
      [
        { id: 'ok', type: 'barrier' },
        { id: 'bad', type: 'aggregation', condition: { type: 'all-complete', parameters: { reducer: 'sum' } } },
        { id: 'idle', type: 'barrier' },
      ],
      { allSubtasks: ['a', 'b'], now: () => t },
    );
    const a = hub.arrive('ok', 'a', 'x');
    t = 1040;
    const b = hub.arrive('ok', 'b', 'y');
    await Promise.all([a, b]);
    await Promise.all([hub.arrive('bad', 'a', 'x', 1), hub.arrive('bad', 'b', 'y', 'nan')]);
    expect(hub.summary()).toEqual({ pointsReached: 1, pointsFailed: 1, arrivals: 4, waitMs: 40 });
    const releases = events.filter((e) => e.type === 'sync-release' && e.pointId === 'ok');
    expect(releases.map((e) => [e.subtaskId, e.waitedMs])).toEqual([['a', 40], ['b', 0]]);
    expect(events.filter((e) => e.type === 'sync-arrive')).toHaveLength(4);
    expect(events.find((e) => e.type === 'sync-arrive' && e.pointId === 'ok' && e.subtaskId === 'b')).toMatchObject({ arrived: 2, expected: 2, at: 1040 });
  });

  it('a retried subtask that arrives again replaces its earlier value', async () => {
    const { hub } = setup([{ id: 'g', type: 'aggregation' }], { allSubtasks: ['a', 'b'] });
    const first = hub.arrive('g', 'a', 'agent-1', 'stale');
    const again = hub.arrive('g', 'a', 'agent-2', 'fresh');
    const b = await hub.arrive('g', 'b', 'agent-3', 'b');
    expect(ok(b)).toEqual(['fresh', 'b']);
    expect(ok(await first)).toEqual(['fresh', 'b']);
    expect(ok(await again)).toEqual(['fresh', 'b']);
  });

  it('a throwing event listener does not strand waiters', async () => {
    const { hub } = setup([{ id: 'p', type: 'barrier' }], {
      allSubtasks: ['a'],
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    expect(ok(await hub.arrive('p', 'a', 'x'))).toEqual({ arrived: ['a'] });
  });
});
