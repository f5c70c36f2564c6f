/**
 * Pure parts of issue 10's leak, lease and module-state work: effective concurrency, the warm
 * pool's caps, fd headroom, the probe cache, validated tasks, the package root, allocations held
 * until released.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { success, type QiError, type Result } from '@qi/base';
import { describe, expect, it } from 'vitest';
import { assign, MAX_ASSIGNED_TASKS } from '../../src/subagent/instance.js';
import type { SubTask } from '../../src/schemas/task.js';
import { handOver, waitFor, type BudgetWait } from '../../src/execution/budget-waits.js';
import { effectiveConcurrency } from '../../src/execution/concurrency.js';
import { FinishedRuns } from '../../src/execution/finished-runs.js';
import { flatString } from '../../src/util/flat-string.js';
import { attachGraph, plannedGraph } from '../../src/distribution/planned-graph.js';
import { PluginProbeCache } from '../../src/plugins/probe-cache.js';
import { ResourceManager } from '../../src/resources/index.js';
import { FdHeadroom, readFdLimit, spawnThrew } from '../../src/subagent/fd-headroom.js';
import type { PluginInfo } from '../../src/subagent/instance.js';
import { findPackageRoot, runtimePaths } from '../../src/subagent/package-root.js';
import { WarmPool, type PooledAgent } from '../../src/subagent/pool.js';
import { parseTask, ValidatedTask } from '../../src/tasks/load.js';
import { err, ok } from '../helpers.js';

const caps = { scheduler: 64, schedulerReason: 'parallel', maxConcurrentAgents: 64, maxConcurrentAllocations: 16, maxTotalMemoryMB: 100_000, perAgentMB: 256 };

describe('effectiveConcurrency', () => {
  it('names resources.maxConcurrentAllocations when it caps what the strategy asked for', () => {
    expect(effectiveConcurrency(caps)).toMatchObject({ value: 16, limitedBy: 'resources.maxConcurrentAllocations', requested: 64 });
    expect(effectiveConcurrency(caps).reason).toMatch(/16 of 64 agents: resources.maxConcurrentAllocations is 16/);
  });

  it('names the memory budget when it holds fewer agents of the ready subtasks\' size', () => {
    expect(effectiveConcurrency({ ...caps, maxTotalMemoryMB: 1000 })).toMatchObject({ value: 3, limitedBy: 'resources.maxTotalMemory' });
  });

  it('keeps the strategy\'s reason when the strategy or the plan caps, and never goes below 1', () => {
    expect(effectiveConcurrency({ ...caps, scheduler: 2, schedulerReason: 'halved' })).toMatchObject({ value: 2, limitedBy: 'strategy', reason: 'halved' });
    expect(effectiveConcurrency({ ...caps, maxConcurrentAgents: 4 })).toMatchObject({ value: 4, limitedBy: 'maxConcurrentAgents', reason: 'parallel' });
    expect(effectiveConcurrency({ ...caps, maxTotalMemoryMB: 10 }).value).toBe(1);
  });

  it('a ready subtask without a memory size sets no memory cap', () => {
    expect(effectiveConcurrency({ ...caps, maxConcurrentAllocations: 100, perAgentMB: 0 })).toMatchObject({ value: 64, limitedBy: 'strategy' });
  });
});

describe('budget waits', () => {
  const wait = (profile: string): BudgetWait<string> => ({ memoryMB: 64, profile, lane: 0, controller: new AbortController(), handedOver: undefined });

  it('an idle agent goes to the first open wait of its profile, which ends its budget request', () => {
    const waits = [wait('p2'), wait('p1'), wait('p1')];
    const first = waitFor(waits, 'p1');
    expect(first).toBe(waits[1]);
    handOver(first!, 'agent-1');
    expect(waits[1]).toMatchObject({ handedOver: 'agent-1' });
    expect(waits[1]!.controller.signal.aborted).toBe(true);
    expect(waitFor(waits, 'p1')).toBe(waits[2]);
    waits[2]!.controller.abort();
    expect(waitFor(waits, 'p1')).toBeUndefined();
    expect(waitFor(waits, 'p3')).toBeUndefined();
  });
});

describe('FinishedRuns', () => {
  it('keeps the last runs\' final statuses, oldest dropped first', () => {
    const runs = new FinishedRuns(2);
    const status = (id: string) => ({ coordinationId: id, status: 'completed' as const, progress: 1, activeAgents: 0, completedTasks: 1, totalTasks: 1 });
    runs.set('a', status('a'));
    runs.set('b', status('b'));
    runs.set('a', status('a'));
    runs.set('c', status('c'));
    expect([runs.get('a')?.coordinationId, runs.get('b'), runs.get('c')?.coordinationId]).toEqual(['a', undefined, 'c']);
    runs.delete('a');
    expect(runs.size).toBe(1);
  });

  it('stays at its bound however many runs end', () => {
    const runs = new FinishedRuns(50);
    for (let i = 0; i < 5_000; i++) runs.set(`run-${i}`, { coordinationId: `run-${i}`, status: 'completed', progress: 1, activeAgents: 0, completedTasks: i, totalTasks: i });
    expect(runs.size).toBe(50);
    expect(runs.get('run-4949')).toBeUndefined();
    expect(runs.get('run-4950')?.completedTasks).toBe(4950);
  });

  it('keeps the six status fields only, not what else the status object carries', () => {
    const runs = new FinishedRuns();
    const status = { coordinationId: 'dist-1', status: 'failed' as const, progress: 0.5, activeAgents: 0, completedTasks: 1, totalTasks: 2 };
    runs.set('dist-1', Object.assign({ subtasks: new Array(10_000).fill('x') }, status));
    expect(runs.get('dist-1')).toStrictEqual(status);
  });
});

describe('flatString', () => {
  it('gives back the same characters, lone surrogates and all', () => {
    for (const s of ['', 'dist-' + 'ab'.repeat(20), 'a\ud800b', '\udfff', 'é€😀']) expect(flatString(s)).toBe(s);
  });
});

function fakeAgent(id: string): PooledAgent & { discarded: boolean } {
  const agent = { agentId: id, workspace: '/tmp', discarded: false, alive: () => !agent.discarded, discard: async () => void (agent.discarded = true) };
  return agent;
}

describe('WarmPool', () => {
  it('holds at most maxTotal agents across profiles, ready and starting together', async () => {
    const pool = new WarmPool<ReturnType<typeof fakeAgent>>(2, 3);
    let started = 0;
    const start = async (): Promise<Result<ReturnType<typeof fakeAgent>, QiError>> => success(fakeAgent(`a${++started}`));
    pool.refill('p1', start);
    pool.refill('p2', start);
    pool.refill('p3', start);
    await pool.close().catch(() => undefined);
    expect(started).toBe(3);
  });

  it('stops an agent put into a full pool, and forgets a profile once its list is empty', async () => {
    const pool = new WarmPool<ReturnType<typeof fakeAgent>>(2, 1);
    const a = fakeAgent('a');
    const b = fakeAgent('b');
    pool.put('p1', a);
    pool.put('p2', b);
    expect(b.discarded).toBe(true);
    expect(pool.take('p1')).toBe(a);
    expect(pool.readyCount).toBe(0);
    pool.put('p2', fakeAgent('c'));
    expect(pool.readyCount).toBe(1);
    await pool.close();
  });
});

describe('FdHeadroom', () => {
  it('refuses a spawn with INSUFFICIENT_RESOURCES when the descriptors left are fewer than its reserve', () => {
    const open = readdirSync('/proc/self/fd').length;
    const e = err(new FdHeadroom(open + 8).check('agent-1'));
    expect(e).toMatchObject({ code: 'INSUFFICIENT_RESOURCES', context: { fdLimit: open + 8 } });
    expect(e.message).toMatch(/ulimit -n/);
    ok(new FdHeadroom(open + 1000).check('agent-1'));
    expect(err(new FdHeadroom(open + 100).check('agent-1', 10)).context).toMatchObject({ starting: 10 });
    ok(new FdHeadroom(undefined).check('agent-1'));
  });

  it('reads the soft limit from /proc/self/limits text', () => {
    expect(readFdLimit('Max cpu time              unlimited            unlimited            seconds\nMax open files            256                  4096                 files\n')).toBe(256);
    expect(readFdLimit('Max open files            unlimited            unlimited            files\n')).toBeUndefined();
    expect(readFdLimit()).toBeGreaterThan(0);
  });

  it('turns a throwing spawn into a QiError: exhaustion is INSUFFICIENT_RESOURCES, anything else INTERNAL', () => {
    expect(spawnThrew(Object.assign(new Error('spawn x EMFILE'), { code: 'EMFILE' })).code).toBe('INSUFFICIENT_RESOURCES');
    expect(spawnThrew(new TypeError('subprocess.stdio is not iterable')).code).toBe('INSUFFICIENT_RESOURCES');
    expect(spawnThrew(Object.assign(new Error('x'), { code: 'EAGAIN' })).message).toMatch(/out of processes/);
    expect(spawnThrew(new Error('boom')).code).toBe('INTERNAL');
  });
});

describe('PluginProbeCache', () => {
  const info: PluginInfo = { name: 'x', type: 'basic', capabilities: [] } as unknown as PluginInfo;
  const file = path.join(import.meta.dirname, 'units.test.ts');

  it('probes a file version once per settings, and again under other settings', async () => {
    const cache = new PluginProbeCache();
    let probes = 0;
    const probe = async (): Promise<Result<PluginInfo, QiError>> => (probes++, success(info));
    await cache.probe(file, 'settings-a', probe);
    await cache.probe(file, 'settings-a', probe);
    expect(probes).toBe(1);
    await cache.probe(file, 'settings-b', probe);
    expect(probes).toBe(2);
  });

  it('does not keep a failed probe (the next ask probes again), but keeps "not an agent plugin"', async () => {
    const cache = new PluginProbeCache();
    let probes = 0;
    const failing = (code: string) => async (): Promise<Result<PluginInfo, QiError>> => {
      probes++;
      return { tag: 'failure', error: { code, message: code, category: 'SYSTEM', context: {} } as unknown as QiError };
    };
    await cache.probe(file, 's', failing('INSUFFICIENT_RESOURCES'));
    await cache.probe(file, 's', failing('INSUFFICIENT_RESOURCES'));
    expect(probes).toBe(2);
    await cache.probe(file, 'k', failing('PLUGIN_KIND'));
    await cache.probe(file, 'k', failing('PLUGIN_KIND'));
    expect(probes).toBe(3);
  });

  it('drops the oldest entries past its size', async () => {
    const cache = new PluginProbeCache(2);
    const probe = async (): Promise<Result<PluginInfo, QiError>> => success(info);
    for (const s of ['a', 'b', 'c']) await cache.probe(file, s, probe);
    expect(cache.size).toBe(2);
  });
});

describe('ValidatedTask', () => {
  it('parseTask returns the task with its DAG, and takes a ValidatedTask back as it is', () => {
    const validated = ok(parseTask({ id: 't', subtasks: [{ id: 'a', expectedOutputs: [{ name: 'x' }] }, { id: 'b', inputs: [{ name: 'x', value: null, required: true }] }] }));
    expect(ValidatedTask.is(validated)).toBe(true);
    expect(validated.graph?.preds).toEqual([[], [0]]);
    expect(Object.isFrozen(validated.task)).toBe(true);
    expect(ok(parseTask(validated))).toBe(validated);
  });

  it('a look-alike object is validated again, not trusted', () => {
    const lookAlike = { task: { id: 't' }, graph: undefined };
    expect(ValidatedTask.is(lookAlike)).toBe(false);
    expect(err(parseTask(lookAlike)).code).toBe('INVALID_TASK');
  });
});

describe('planned graph', () => {
  it('travels with the plan object, not with a copy of it, and is not part of its JSON', () => {
    const { task, graph } = ok(parseTask({ id: 't', subtasks: [{ id: 'a' }] }));
    const plan = attachGraph({ id: 'p', subtasks: task.subtasks! }, graph!);
    expect(plannedGraph(plan)).toBe(graph);
    expect(plannedGraph({ ...plan })).toBeUndefined();
    expect(plannedGraph(JSON.parse(JSON.stringify(plan)) as typeof plan)).toBeUndefined();
    expect(plannedGraph({ ...plan, subtasks: [...plan.subtasks] })).toBeUndefined();
  });
});

describe('package root', () => {
  it('is found above this folder, and a failure (not a throw) where there is none', () => {
    expect(ok(runtimePaths()).bootstrap).toMatch(/dist\/cjs\/sandbox\/agent\.cjs$/);
    expect(err(findPackageRoot('/')).code).toBe('SANDBOX_UNAVAILABLE');
  });
});

describe('ResourceManager.acquire untilReleased', () => {
  it('an agent\'s allocation outlives the default ttl and is held until released', async () => {
    const rm = new ResourceManager({ maxTotalMemory: 1024, maxConcurrentAllocations: 4, allowSharedResources: true }, { defaultTtlMs: 1 });
    const held = ok(await rm.acquire(512, 'agent-1', 0, undefined, { untilReleased: true }));
    const expiring = ok(await rm.acquire(256, 'agent-2', 0));
    expect(held.expiresAt.getTime()).toBe(8.64e15);
    await new Promise((r) => setTimeout(r, 20));
    expect(rm.usage()).toMatchObject({ memoryMB: 512, allocations: 1 });
    expect(err(rm.release(expiring)).code).toBe('NOT_FOUND');
    ok(rm.release(held));
    rm.close();
  });
});

describe("an agent's assignedTasks", () => {
  it('keeps its latest subtasks only: an agent that runs a whole run holds a bounded list', () => {
    const instance = { assignedTasks: [] as SubTask[] };
    for (let i = 0; i < MAX_ASSIGNED_TASKS + 10; i++) assign(instance, { id: `s${i}` } as SubTask);
    expect(instance.assignedTasks).toHaveLength(MAX_ASSIGNED_TASKS);
    expect(instance.assignedTasks[0]!.id).toBe('s10');
    expect(instance.assignedTasks.at(-1)!.id).toBe(`s${MAX_ASSIGNED_TASKS + 9}`);
  });
});
