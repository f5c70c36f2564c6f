/**
 * Synchronization hub edge cases not covered by sync.test.ts: canonical JSON, checkpoint files
 * that cannot be written or read, reducers and rules that fail, and how errors name things.
 */
import { mkdtempSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SynchronizationPoint } from '../src/schemas/strategy.js';
import { checkpointFile, loadCheckpoint, saveCheckpoint } from '../src/sync/checkpoint.js';
import { reduceContributions } from '../src/sync/reducers.js';
import { releaseValue, type Arrival } from '../src/sync/release.js';
import { canonicalJson, SyncHub, type DecisionRule, type Reducer, type SyncHubOptions } from '../src/sync/index.js';
import { err, issueLines, ok } from './helpers.js';

const hubs: SyncHub[] = [];
afterEach(() => {
  for (const h of hubs.splice(0)) h.close();
});

function tempDir(): string {
  return realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-sync-edges-')));
}

function hub(points: unknown[], options: Partial<SyncHubOptions> = {}): SyncHub {
  const h = new SyncHub({
    points: points.map((p) => SynchronizationPoint.parse(p)),
    allSubtasks: ['a', 'b'],
    failureHandling: 'graceful-degradation',
    checkpointDir: tempDir(),
    ...options,
  });
  hubs.push(h);
  return h;
}

function arrival(subtaskId: string, value: unknown, entry: number, seq: number): Arrival {
  return { subtaskId, agentId: `agent-${subtaskId}`, value, entry, seq, at: 0 };
}

describe('canonicalJson', () => {
  it('writes deep-equal values alike: keys sorted, undefined members dropped, array undefined as null', () => {
    expect(canonicalJson({ b: 1, a: [1, undefined, 'x'], c: undefined })).toBe('{"a":[1,null,"x"],"b":1}');
    expect(canonicalJson({ z: { y: 1, x: 2 }, a: null })).toBe(canonicalJson({ a: null, z: { x: 2, y: 1 } }));
  });

  it('writes what JSON cannot: undefined, bigint, and cycles', () => {
    expect(canonicalJson(undefined)).toBe('undefined');
    expect(canonicalJson({ n: 12n })).toBe('{"n":12n}');
    const loop: Record<string, unknown> = { name: 'loop' };
    loop['self'] = loop;
    expect(canonicalJson(loop)).toBe('{"name":"loop","self":"[Circular]"}');
    // A value seen twice but not inside itself is no cycle.
    const shared = { k: 1 };
    expect(canonicalJson([shared, shared])).toBe('[{"k":1},{"k":1}]');
  });
});

describe('checkpoint files', () => {
  it('a checkpoint without a value restores as undefined; so do unsafe ids, non-records and broken files', async () => {
    const dir = tempDir();
    ok(await saveCheckpoint(dir, 'cp', 'plain', undefined, 1));
    expect(await loadCheckpoint(dir, 'plain')).toBeUndefined();
    expect(await loadCheckpoint(dir, '../escape')).toBeUndefined();
    mkdirSync(path.dirname(checkpointFile(dir, 'x')), { recursive: true });
    writeFileSync(checkpointFile(dir, 'list'), '[1, 2]');
    writeFileSync(checkpointFile(dir, 'broken'), '{"value": ');
    writeFileSync(checkpointFile(dir, 'nothing'), 'null');
    for (const id of ['list', 'broken', 'nothing', 'missing']) expect(await loadCheckpoint(dir, id)).toBeUndefined();
  });

  it('refuses a value JSON cannot hold, naming the point and the subtask, and the arrival does not count', async () => {
    const h = hub([{ id: 'cp', type: 'checkpoint', participatingAgents: ['a'] }]);
    const bigint = err(await h.arrive('cp', 'a', 'agent-a', { size: 10n }));
    expect(bigint).toMatchObject({ code: 'AGENT_ERROR', category: 'BUSINESS' });
    expect(bigint.message).toContain("checkpoint 'cp': the value from subtask 'a' cannot be saved as JSON");
    const thrower = err(await h.arrive('cp', 'a', 'agent-a', { toJSON: (): never => { throw 'not today'; } }));
    expect(thrower.message).toContain('(not today)');
    expect(h.summary().arrivals).toBe(0);
    expect(ok(await h.arrive('cp', 'a', 'agent-a', { size: 10 }))).toEqual({ saved: ['a'] });
  });

  it('a checkpoint directory that cannot be written fails with INTERNAL naming the file', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, '');
    const h = hub([{ id: 'cp', type: 'checkpoint', participatingAgents: ['a'] }], { checkpointDir: file });
    const e = err(await h.arrive('cp', 'a', 'agent-a', { step: 1 }));
    expect(e.code).toBe('INTERNAL');
    expect(e.message).toContain(checkpointFile(file, 'a'));
  });
});

describe('SyncHub: naming points', () => {
  it('an unknown point lists at most 20 known points, or says there are none', async () => {
    const many = hub(Array.from({ length: 25 }, (_, i) => ({ id: `p${i}`, type: 'barrier' })));
    const e = err(await many.arrive('nope', 'a', 'agent-a'));
    expect(e.message).toContain('p0, p1');
    expect(e.message).toContain('p19, … (25 in all)');
    expect(e.message).not.toContain('p20');
    expect(err(await hub([]).arrive('nope', 'a', 'agent-a')).message).toContain('(known points: (none))');
  });

  it('a reused point id: the first point fails with INVALID_SPEC naming the duplicate; the second is not created', async () => {
    const h = hub([
      { id: 'twice', type: 'barrier' },
      { id: 'twice', type: 'aggregation' },
    ]);
    const e = err(await h.arrive('twice', 'a', 'agent-a'));
    expect(e.code).toBe('INVALID_SPEC');
    expect(e.message).toContain("duplicate synchronization point id 'twice'");
    expect((await h.settled('twice')).status).toBe('failed');
  });

  it('validate names a reducer that is not a string', () => {
    const e = err(SyncHub.validate([SynchronizationPoint.parse({ id: 'g', type: 'aggregation', condition: { type: 'all-complete', parameters: { reducer: 42 } } })]));
    expect(issueLines(e)).toEqual(['synchronizationPoints[0].condition.parameters.reducer: reducer must be a string; use one of: sum, concat, merge (plugin reducers must be registered)']);
  });
});

describe('reducers and rules that fail', () => {
  it('sum names a participant that sent no value, and shortens long values in the message', () => {
    const none = err(reduceContributions('g', 'sum', [{ participant: 'a', value: undefined }]));
    expect(none.message).toContain("participant 'a' sent no value, expected a finite number");
    const long = err(reduceContributions('g', 'sum', [{ participant: 'b', value: 'x'.repeat(200) }]));
    expect(long.message).toMatch(/sent "x+…, expected/);
  });

  it('an unknown reducer is INVALID_SPEC listing built-ins and plugins', () => {
    expect(err(reduceContributions('g', 'median', [])).message).toContain("unknown reducer 'median'; use one of: sum, concat, merge");
    const plugins = new Map<string, Reducer>([['max', (v) => Math.max(...(v as number[]))]]);
    expect(err(reduceContributions('g', 'median', [], plugins)).message).toContain('use one of: sum, concat, merge, max');
  });

  it('a plugin reducer that throws fails the point for everyone with AGENT_ERROR', async () => {
    const reducers = new Map<string, Reducer>([
      ['explodes', () => { throw new Error('reducer bug'); }],
      ['throws-text', () => { throw 'plain text'; }],
    ]);
    const h = hub(
      [
        { id: 'e', type: 'aggregation', condition: { type: 'all-complete', parameters: { reducer: 'explodes' } } },
        { id: 't', type: 'aggregation', condition: { type: 'all-complete', parameters: { reducer: 'throws-text' } } },
      ],
      { reducers },
    );
    const [a, b] = await Promise.all([h.arrive('e', 'a', 'agent-a', 1), h.arrive('e', 'b', 'agent-b', 2)]);
    for (const r of [a, b]) expect(err(r)).toMatchObject({ code: 'AGENT_ERROR', message: expect.stringContaining("plugin reducer 'explodes' threw: reducer bug") });
    expect(err(a).context['stack']).toEqual(expect.stringContaining('reducer bug'));
    const [c] = await Promise.all([h.arrive('t', 'a', 'agent-a', 1), h.arrive('t', 'b', 'agent-b', 2)]);
    expect(err(c!).message).toContain('threw: plain text');
  });

  it('a plugin rule that throws fails the decision for everyone with AGENT_ERROR naming the proposers', async () => {
    const rules = new Map<string, DecisionRule>([
      ['explodes', () => { throw new Error('rule bug'); }],
      ['throws-text', () => { throw 'plain text'; }],
    ]);
    const h = hub(
      [
        { id: 'd', type: 'decision', condition: { type: 'all-complete', parameters: { rule: 'explodes' } } },
        { id: 't', type: 'decision', condition: { type: 'all-complete', parameters: { rule: 'throws-text' } } },
      ],
      { rules },
    );
    const [a] = await Promise.all([h.arrive('d', 'a', 'agent-a', 'x'), h.arrive('d', 'b', 'agent-b', 'y')]);
    expect(err(a!)).toMatchObject({ code: 'AGENT_ERROR', context: { pointId: 'd', rule: 'explodes', proposers: ['a', 'b'] } });
    expect(err(a!).message).toContain('rule bug');
    const [t] = await Promise.all([h.arrive('t', 'a', 'agent-a', 'x'), h.arrive('t', 'b', 'agent-b', 'y')]);
    expect(err(t!).message).toContain('threw: plain text');
  });

  it('releaseValue: a rule that is not registered is INVALID_SPEC; a decision nobody proposed to is undefined', () => {
    const decision = SynchronizationPoint.parse({ id: 'd', type: 'decision', condition: { type: 'all-complete', parameters: { rule: 'coin' } } });
    expect(err(releaseValue(decision, [arrival('a', 'x', 0, 0)], {})).message).toContain("decision point 'd' names unknown rule 'coin'");
    expect(ok(releaseValue(decision, [], {}))).toBeUndefined();
  });

  it('releaseValue: contributions matching the same participant entry keep their arrival order', () => {
    const g = SynchronizationPoint.parse({ id: 'g', type: 'aggregation', participatingAgents: ['shared-agent', 'b'] });
    const arrivals = [arrival('b', 'from b', 1, 0), arrival('x2', 'second', 0, 2), arrival('x1', 'first', 0, 1)];
    expect(ok(releaseValue(g, arrivals, {}))).toEqual(['first', 'second', 'from b']);
  });

  it('a decision whose participants all left without proposing releases with undefined', async () => {
    const h = hub([{ id: 'd', type: 'decision', participatingAgents: ['a'] }]);
    h.depart('a');
    const outcome = await h.settled('d');
    expect(outcome).toMatchObject({ status: 'released', arrived: [] });
    expect(ok(outcome.result)).toBeUndefined();
  });
});
