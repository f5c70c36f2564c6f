/**
 * A worker's warm agents. The bookkeeping (exact profile match, handed out once, slots and
 * memory budget, room for a cold start, close) is tested on stand-in connections; then a real
 * `qicoord worker` on a real redis-server shows the effect: the second run of a profile runs on
 * agents the worker started beforehand (their workspaces are named after the worker's own ids),
 * a run of another profile never gets one, and a drain leaves no process behind.
 */
import { MR_PLUGIN, remoteCoordinator, remoteSetup, SECRET } from './setup.js';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { success } from '@qi/base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator, type MultiAgentCoordinator } from '../../src/index.js';
import { WarmAgents, warmProfile, type WarmAgentsOptions } from '../../src/remote/warm-agents.js';
import type { SubAgentSpecification } from '../../src/schemas/spec.js';
import type { PluginSource } from '../../src/subagent/plugin-source.js';
import type { AgentConnection } from '../../src/subagent/transport.js';
import { ok } from '../helpers.js';
import { processesUnder, strategy, task } from '../live-helpers.js';
import { waitUntil } from '../sandbox-helpers.js';
import type { TestRedis } from './redis-server.js';
import { startWorker, type WorkerProcess } from './worker-process.js';

/** A stand-in connection: alive until stopped (or `die`d). */
function fakeConnection(): AgentConnection & { stopped: boolean; die(): void } {
  let alive = true;
  const c = {
    stopped: false,
    get alive() {
      return alive;
    },
    die: () => (alive = false),
    stop: async () => {
      alive = false;
      c.stopped = true;
      return { reason: 'exited' as const, exitCode: 0, signal: null, stderrTail: '' };
    },
  };
  return c as unknown as AgentConnection & { stopped: boolean; die(): void };
}

function spec(maxMemoryMB: number, extra: Partial<SubAgentSpecification> = {}): SubAgentSpecification {
  return {
    agentType: 'specialized',
    plugin: 'mr',
    capabilities: ['map-reduce'],
    resourceLimits: { maxMemoryMB, maxExecutionTimeMs: 60_000, allowedNetworkHosts: [], maxToolCalls: 100, maxFileOperations: 100 },
    securityConstraints: { allowedTools: [], prohibitedOperations: [], networkAccessLevel: 'none', fileSystemAccess: 'read-only' },
    isolationLevel: 'restricted',
    parentAgentId: 'p1',
    ...extra,
  } as SubAgentSpecification;
}

const PLUGIN = { path: '/plugins/mr.mjs', readPaths: ['/plugins'] } as unknown as PluginSource;

/** Warm agents over stand-in connections; `busy` is what the worker's running sessions hold. */
function harness(o: Partial<WarmAgentsOptions> = {}, busy = { sessions: 0, memoryMB: 0 }) {
  const started: (AgentConnection & { stopped: boolean; die(): void })[] = [];
  const pending: (() => void)[] = [];
  const warm = new WarmAgents({
    size: 2,
    maxTotal: 8,
    slots: 4,
    maxTotalMemoryMB: 1024,
    busy: () => busy,
    start: () => {
      const c = fakeConnection();
      started.push(c);
      return new Promise<Result<AgentConnection, QiError>>((resolve) => pending.push(() => resolve(success(c))));
    },
    ...o,
  });
  /** Lets every start in flight finish (and the pool take the agents in). */
  const settle = async (): Promise<void> => {
    for (const finish of pending.splice(0)) finish();
    await new Promise((r) => setImmediate(r));
  };
  return { warm, started, settle, busy };
}

describe('warm agents (bookkeeping)', () => {
  it('a profile is the exact plugin file, its version and the specification but the parent id', () => {
    const base = warmProfile(spec(128), PLUGIN, 'a'.repeat(64)).key;
    expect(warmProfile(spec(128, { parentAgentId: 'p2' }), PLUGIN, 'a'.repeat(64)).key).toBe(base);
    expect(warmProfile(spec(256), PLUGIN, 'a'.repeat(64)).key).not.toBe(base);
    expect(warmProfile(spec(128, { isolationLevel: 'sandbox' }), PLUGIN, 'a'.repeat(64)).key).not.toBe(base);
    expect(warmProfile(spec(128), PLUGIN, 'b'.repeat(64)).key).not.toBe(base);
    expect(warmProfile(spec(128), { ...PLUGIN, path: '/other/mr.mjs' }, 'a'.repeat(64)).key).not.toBe(base);
  });

  it('keeps `size` ready per profile and hands each out once, only for its own profile', async () => {
    const { warm, started, settle } = harness();
    const a = warmProfile(spec(128), PLUGIN, 'a'.repeat(64));
    const b = warmProfile(spec(256), PLUGIN, 'a'.repeat(64));
    warm.refill(a);
    warm.refill(a);
    await settle();
    expect(started).toHaveLength(2);
    expect(warm.take(b.key)).toBeUndefined();
    const first = warm.take(a.key);
    const second = warm.take(a.key);
    expect(new Set([first, second])).toEqual(new Set(started));
    expect(warm.take(a.key)).toBeUndefined();
  });

  it('never starts past the slots or the memory budget the running sessions leave', async () => {
    const bySlots = harness({ slots: 3 }, { sessions: 2, memoryMB: 0 });
    bySlots.warm.refill(warmProfile(spec(128), PLUGIN, 'a'.repeat(64)));
    await bySlots.settle();
    expect(bySlots.started).toHaveLength(1);

    const byMemory = harness({ maxTotalMemoryMB: 600 }, { sessions: 1, memoryMB: 300 });
    byMemory.warm.refill(warmProfile(spec(256), PLUGIN, 'a'.repeat(64)));
    await byMemory.settle();
    expect(byMemory.started).toHaveLength(1);

    const byTotal = harness({ maxTotal: 3 });
    byTotal.warm.refill(warmProfile(spec(128), PLUGIN, 'a'.repeat(64)));
    byTotal.warm.refill(warmProfile(spec(64), PLUGIN, 'a'.repeat(64)));
    await byTotal.settle();
    expect(byTotal.started).toHaveLength(3);
  });

  it('an agent that started into room sessions took meanwhile is stopped, not kept', async () => {
    const { warm, started, settle, busy } = harness({ slots: 2 });
    warm.refill(warmProfile(spec(128), PLUGIN, 'a'.repeat(64)));
    busy.sessions = 1;
    await settle();
    expect(started.filter((c) => c.stopped)).toHaveLength(1);
    expect(warm.readyCount).toBe(1);
  });

  it('a cold start without room stops the oldest ready agents; a dead one is never handed out', async () => {
    const { warm, started, settle, busy } = harness({ slots: 3 });
    const a = warmProfile(spec(128), PLUGIN, 'a'.repeat(64));
    warm.refill(a);
    await settle();
    busy.sessions = 2;
    warm.makeRoom();
    expect(started.map((c) => c.stopped)).toEqual([true, false]);
    started[1]!.die();
    expect(warm.take(a.key)).toBeUndefined();
    expect(warm.readyCount).toBe(0);
  });

  it('a job whose agent is starting holds its slot until it is released', async () => {
    const { warm, started, settle } = harness({ slots: 2 });
    const a = warmProfile(spec(128), PLUGIN, 'a'.repeat(64));
    const release = warm.claim(128);
    warm.refill(a);
    await settle();
    expect(started).toHaveLength(1);
    release();
    release();
    warm.refill(a);
    await settle();
    expect(started).toHaveLength(2);
  });

  it('refillLater waits for a quiet moment, then tops up every profile that asked', async () => {
    let quiet = false;
    const { warm, started, settle } = harness({ quiet: () => quiet });
    warm.refillLater(warmProfile(spec(128), PLUGIN, 'a'.repeat(64)));
    await settle();
    expect(started).toHaveLength(0);
    quiet = true;
    warm.refillLater(warmProfile(spec(256), PLUGIN, 'a'.repeat(64)));
    await settle();
    await settle();
    expect(started).toHaveLength(4);
  });

  it('close stops the ready agents and those still starting; nothing starts after', async () => {
    const { warm, started, settle } = harness();
    const a = warmProfile(spec(128), PLUGIN, 'a'.repeat(64));
    warm.refill(a);
    await settle();
    warm.refill(warmProfile(spec(256), PLUGIN, 'a'.repeat(64)));
    const closing = warm.close();
    await settle();
    await closing;
    expect(started).toHaveLength(4);
    expect(started.every((c) => c.stopped)).toBe(true);
    warm.refill(a);
    expect(started).toHaveLength(4);
  });
});


describe('warm agents on a worker', () => {
  let redis: TestRedis;
  let root: string;
  let markers: string;
  let ws: string;
  let worker: WorkerProcess;
  let coordinator: MultiAgentCoordinator;

  beforeAll(async () => {
    ({ redis, root } = await remoteSetup('qicoord-warm-'));
    markers = path.join(root, 'markers');
    mkdirSync(markers);
    ws = path.join(root, 'ws');
    const config = path.join(root, 'worker.json');
    writeFileSync(
      config,
      JSON.stringify({
        plugins: [MR_PLUGIN],
        logging: { level: 'info' },
        sandbox: { workspaceRoot: ws, writePaths: [markers], keepWorkspace: true },
        executor: { type: 'bullmq', connection: redis.socket, lockDurationMs: 1000 },
      }),
    );
    worker = startWorker(['--config', config, '--slots', '2'], { QICOORD_JOB_SECRET: SECRET });
    await worker.ready;
    coordinator = await remoteCoordinator(redis, root);
  });

  afterAll(async () => {
    await coordinator?.close();
    if (worker !== undefined && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await worker?.exited;
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** Runs two map subtasks on two agents; returns the workspace each subtask's agent ran in. */
  async function mapRun(id: string, maxMemory: number): Promise<string[]> {
    const sub = (n: number) => ({
      id: `${id}-${n}`,
      agent: 'mr',
      inputs: [
        { name: 'op', value: 'map' },
        { name: 'markers', value: markers },
        { name: 'text', value: 'a b c' },
      ],
      expectedOutputs: [{ name: 'count' }],
      executionConstraints: { maxMemory },
    });
    const plan = ok(await coordinator.distributeTask(task(id, [sub(0), sub(1)]), strategy('parallel', { maxConcurrentAgents: 2 })));
    const result = ok(await coordinator.executeDistributedTask(plan));
    expect(result.aggregatedResult.subtasks.map((s) => s.error)).toEqual([undefined, undefined]);
    expect(result.aggregatedResult.outputs[`${id}-0`]).toEqual({ count: 3 });
    return [0, 1].map((n) => readFileSync(path.join(markers, `${id}-${n}.1.done`), 'utf8'));
  }

  const readyLines = (): number => worker.stderr().split('\n').filter((l) => l.includes('warm agent ready')).length;

  it('the next run of a profile runs on agents started before its jobs came; another profile never gets them', async () => {
    const cold = await mapRun('first', 128);
    expect(cold.map((w) => path.basename(w).includes('.warm'))).toEqual([false, false]);
    // Its sessions ended: the worker starts two agents of that profile (two slots, size 2).
    expect(await waitUntil(() => readyLines() >= 2, 15_000)).toBe(true);

    const warm = await mapRun('second', 128);
    expect(warm.map((w) => path.basename(w).includes('.warm'))).toEqual([true, true]);
    // Each agent served one session only: fresh workspaces, none of the first run's.
    expect(new Set([...cold, ...warm]).size).toBe(4);
    expect(await waitUntil(() => readyLines() >= 4, 15_000)).toBe(true);

    // Other limits, another profile: started for its jobs (the ready ones make room).
    const other = await mapRun('third', 96);
    expect(other.map((w) => path.basename(w).includes('.warm'))).toEqual([false, false]);
  });

  it('a drain stops the warm agents too: exit 0, no process left', async () => {
    expect(await waitUntil(() => readyLines() >= 6, 15_000), worker.stderr()).toBe(true);
    expect(readdirSync(ws).length).toBeGreaterThan(0);
    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.stderr()).toEqual({ code: 0, signal: null });
    expect(await waitUntil(() => processesUnder(ws).length === 0, 5000)).toBe(true);
  });
});
