/**
 * Agents on other machines (DESIGN A13): a real redis-server on a Unix socket, and real
 * `qicoord worker` processes (the built CLI) standing in for two machines, each with its own
 * workspace root (kept, so which worker ran an agent can be read off the disk). One slot per
 * worker, two agents per run: every run spreads over both workers. Effects are asserted on disk
 * (marker files written through the worker's tool broker) and in Redis.
 */
import { MR_PLUGIN, remoteSetup, SECRET } from './setup.js';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCoordinator, type ConfigInput, type MultiAgentCoordinator } from '../../src/index.js';
import type { CoordinationResult } from '../../src/execution/types.js';
import { signJob } from '../../src/remote/job.js';
import { readEntries } from '../../src/remote/wire.js';
import { ok } from '../helpers.js';
import { output, point, processesUnder, report, STEPS_PLUGIN, strategy, sub, task } from '../live-helpers.js';
import { waitUntil } from '../sandbox-helpers.js';
import type { TestRedis } from './redis-server.js';
import { qicoordEnv, startWorker, type WorkerProcess } from './worker-process.js';

const DELEGATOR_PLUGIN = path.join(import.meta.dirname, '../fixtures/plugins/delegator.mjs');
const COORDINATOR_RUN = path.join(import.meta.dirname, 'fixtures/coordinator-run.mjs');
const LOCK_MS = 1000;

let redis: TestRedis;
let root: string;
let markers: string;
const workers: { name: string; ws: string; proc: WorkerProcess }[] = [];
const coordinators: MultiAgentCoordinator[] = [];

function launchWorker(name: string, slots = 1): { name: string; ws: string; proc: WorkerProcess } {
  const ws = path.join(root, `ws-${name}`);
  const config = path.join(root, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      plugins: [MR_PLUGIN, STEPS_PLUGIN, DELEGATOR_PLUGIN],
      logging: { level: 'error' },
      monitor: { pollIntervalMs: 50 },
      sandbox: { workspaceRoot: ws, writePaths: [markers], keepWorkspace: true },
      executor: { type: 'bullmq', connection: redis.socket, lockDurationMs: LOCK_MS },
    }),
  );
  // No warm agents here: these tests read which worker ran an agent off its workspace's name,
  // the coordinator's agent id only for an agent started for its job (warm.test.ts covers them).
  const w = { name, ws, proc: startWorker(['--config', config, '--slots', String(slots), '--warm', '0'], { QICOORD_JOB_SECRET: SECRET }) };
  workers.push(w);
  return w;
}

async function coordinator(plugins: readonly string[] = [MR_PLUGIN, STEPS_PLUGIN], extra: ConfigInput = {}): Promise<MultiAgentCoordinator> {
  const c = ok(
    await createCoordinator({
      cwd: root,
      config: {
        plugins: [...plugins],
        logging: { level: 'silent' },
        pool: { enabled: false },
        sandbox: { workspaceRoot: path.join(root, 'ws-coordinator') },
        executor: { type: 'bullmq', connection: redis.socket, lockDurationMs: LOCK_MS },
        ...extra,
      },
    }),
  );
  coordinators.push(c);
  return c;
}

function mr(id: string, op: string, inputs: Record<string, unknown>, outputs: string[], extra: Record<string, unknown> = {}) {
  return {
    id,
    agent: 'mr',
    inputs: [{ name: 'op', value: op }, { name: 'markers', value: markers }, ...Object.entries(inputs).map(([name, value]) => ({ name, value, ...(value === null ? { required: true } : {}) }))],
    expectedOutputs: outputs.map((name) => ({ name })),
    executionConstraints: { maxMemory: 128 },
    ...extra,
  };
}

async function run(c: MultiAgentCoordinator, t: Parameters<MultiAgentCoordinator['distributeTask']>[0], s: Parameters<MultiAgentCoordinator['distributeTask']>[1]): Promise<CoordinationResult> {
  const plan = ok(await c.distributeTask(t, s));
  return ok(await c.executeDistributedTask(plan));
}

/** The `.done` markers of a subtask: one per attempt that finished; their content is the agent's workspace. */
function doneMarkers(subtask: string): string[] {
  return readdirSync(markers).filter((f) => f.startsWith(`${subtask}.`) && f.endsWith('.done'));
}

/** The worker whose workspace root holds the agent's (kept) workspace. */
function workerOf(agentId: string | null): string | undefined {
  return agentId === null ? undefined : workers.find((w) => existsSync(w.ws) && readdirSync(w.ws).includes(agentId))?.name;
}

beforeAll(async () => {
  ({ redis, root } = await remoteSetup('qicoord-remote-'));
  markers = path.join(root, 'markers');
  mkdirSync(markers);
  launchWorker('a');
  launchWorker('b');
  await Promise.all(workers.map((w) => w.proc.ready));
});

afterAll(async () => {
  for (const c of coordinators) await c.close();
  for (const w of workers) if (w.proc.child.exitCode === null && w.proc.child.signalCode === null) w.proc.child.kill('SIGKILL');
  await Promise.all(workers.map((w) => w.proc.exited));
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('a run on two workers', () => {
  it('map-reduce: correct outputs, both workers used, each subtask run once', async () => {
    const c = await coordinator();
    const texts = ['a b c', 'd e', 'f g h i', 'j'];
    const t = task('mr', [
      ...texts.map((text, i) => mr(`map${i}`, 'map', { text }, [`count${i}`])),
      mr('reduce', 'reduce', Object.fromEntries(texts.map((_, i) => [`count${i}`, null])), ['total']),
    ]);
    const result = await run(c, t, strategy('parallel', { maxConcurrentAgents: 2 }));
    expect(result.aggregatedResult.subtasks.filter((s) => s.error !== undefined).map((s) => s.error)).toEqual([]);
    expect(result.success).toBe(true);
    expect(result.aggregatedResult.outputs['reduce']).toEqual({ total: 10 });
    texts.forEach((text, i) => expect(result.aggregatedResult.outputs[`map${i}`]).toEqual({ [`count${i}`]: text.split(' ').length }));
    const ranOn = new Set(result.aggregatedResult.subtasks.map((s) => workerOf(s.agentId)));
    expect(ranOn).toEqual(new Set(['a', 'b']));
    for (const s of [...texts.map((_, i) => `map${i}`), 'reduce']) expect(doneMarkers(s)).toHaveLength(1);
  });

  it("the worker's sandbox holds: a hostile plugin cannot write outside its workspace", async () => {
    const open = path.join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const target = path.join(open, 'escaped.txt');
    const c = await coordinator();
    const result = await run(c, task('escape', [mr('escape', 'escape', { path: target }, ['tried'])]), strategy('parallel'));
    expect(result.aggregatedResult.outputs['escape']).toEqual({ tried: true });
    expect(workerOf(report(result, 'escape').agentId)).toBeDefined();
    expect(existsSync(target)).toBe(false);
  });

  it('sync points and pub/sub across workers', async () => {
    const c = await coordinator();
    const t = task('meet', [
      sub('reader', [{ do: 'subscribe', topic: 'news' }, { do: 'sync', point: 'meet', value: 1 }, { do: 'next', topic: 'news', count: 1 }]),
      sub('editor', [{ do: 'sync', point: 'meet', value: 2 }, { do: 'publish', topic: 'news', body: { headline: 'across machines' } }]),
    ]);
    const result = await run(c, t, strategy('hybrid', { maxConcurrentAgents: 2, synchronizationPoints: [point('meet', 'barrier')] }));
    expect(result.success).toBe(true);
    for (const id of ['reader', 'editor']) {
      const synced = output(result, id).log.find((e) => e['sync'] === 'meet');
      expect((synced?.['value'] as { arrived: string[] }).arrived.sort()).toEqual(['editor', 'reader']);
    }
    expect(output(result, 'reader').log.at(-1)).toEqual({ topic: 'news', messages: [{ headline: 'across machines' }] });
    expect(new Set(['reader', 'editor'].map((id) => workerOf(report(result, id).agentId)))).toEqual(new Set(['a', 'b']));
  });
});

describe('delegation', () => {
  it('ctx.delegate from an agent on a worker: its children run on workers too, their outputs come back', async () => {
    // Room for the parent (waiting) and its two children at once.
    const roomy = launchWorker('e', 3);
    await roomy.proc.ready;
    const c = await coordinator([DELEGATOR_PLUGIN]);
    const t = task('delegate', [{ id: 'parent', agent: 'delegator', inputs: [{ name: 'mode', value: 'fanout' }, { name: 'values', value: [1, 2] }], expectedOutputs: [{ name: 'sum' }, { name: 'outs' }], executionConstraints: { maxMemory: 128 } }]);
    const result = await run(c, t, strategy('hybrid', { maxConcurrentAgents: 3 }));
    expect(result.aggregatedResult.subtasks.filter((s) => s.status !== 'succeeded').map((s) => s.error)).toEqual([]);
    expect(result.aggregatedResult.outputs['parent']).toEqual({ sum: 6, outs: [2, 4] });
    const children = result.aggregatedResult.subtasks.filter((s) => s.id !== 'parent');
    expect(children).toHaveLength(2);
    for (const s of result.aggregatedResult.subtasks) expect(workerOf(s.agentId)).toBeDefined();
  });
});

describe('failures', () => {
  it('a worker SIGKILLed mid-run: its subtask is rerun elsewhere, nothing lost, nothing run twice after success', async () => {
    const spare = launchWorker('c');
    await spare.proc.ready;
    const c = await coordinator();
    const ids = ['s0', 's1', 's2', 's3'];
    const t = task('kill', ids.map((id) => mr(id, 'slow', { ms: 1500 }, ['done'])));
    const running = run(c, t, strategy('parallel', { maxConcurrentAgents: 2, failureHandling: 'retry-cascade' }));
    // The victim: the worker of the first agent inside a subtask (its `.started` marker names its workspace).
    const startedIn = (): string | undefined => {
      const f = readdirSync(markers).find((name) => ids.some((id) => name.startsWith(`${id}.`)) && name.endsWith('.started'));
      return f === undefined ? undefined : readFileSync(path.join(markers, f), 'utf8');
    };
    // The marker may exist before its content is written: wait until it names a worker.
    const victimOf = (): (typeof workers)[number] | undefined => workers.find((w) => startedIn()?.startsWith(`${w.ws}/`) === true);
    // Kept from the check that found it: asking again could read another subtask's marker, still empty.
    let found: (typeof workers)[number] | undefined;
    expect(await waitUntil(() => (found = victimOf()) !== undefined, 20_000)).toBe(true);
    const victim = found!;
    victim.proc.child.kill('SIGKILL');
    const result = await running;
    expect(result.success).toBe(true);
    for (const id of ids) {
      expect(result.aggregatedResult.outputs[id]).toEqual({ done: true });
      expect(doneMarkers(id)).toHaveLength(1);
    }
    const rerun = result.aggregatedResult.subtasks.filter((s) => s.attempts > 1);
    expect(rerun.length).toBeGreaterThan(0);
    for (const s of rerun) expect(workerOf(s.agentId)).not.toBe(victim.name);
    expect(await victim.proc.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it("a coordinator SIGKILLed mid-run: the worker stops its agent (no process left)", async () => {
    const live = workers.filter((w) => w.proc.child.exitCode === null && w.proc.child.signalCode === null);
    const child = spawn(process.execPath, [COORDINATOR_RUN, redis.socket, markers, path.join(root, 'ws-orphaned'), MR_PLUGIN], { env: { PATH: process.env['PATH'] ?? '', QICOORD_JOB_SECRET: SECRET }, stdio: 'ignore' });
    const gone = new Promise((resolve) => child.once('exit', resolve));
    const started = (): string | undefined => {
      const f = readdirSync(markers).find((name) => name.startsWith('orphan.') && name.endsWith('.started'));
      return f === undefined ? undefined : readFileSync(path.join(markers, f), 'utf8');
    };
    expect(await waitUntil(() => live.some((w) => started()?.startsWith(`${w.ws}/`) === true), 20_000)).toBe(true);
    const worker = live.find((w) => started()!.startsWith(`${w.ws}/`))!;
    expect(processesUnder(worker.ws).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await gone;
    // Its heartbeat expires after lockDurationMs; the worker then stops the agent at once.
    expect(await waitUntil(() => processesUnder(worker.ws).length === 0, 10_000)).toBe(true);
    expect(await waitUntil(() => /agent \S+ plugin mr: given up/.test(worker.proc.stderr()), 5000)).toBe(true);
    expect(doneMarkers('orphan')).toHaveLength(0);
  });

  it('plugin mismatch: a worker refuses a plugin it holds in another version, and it never runs', async () => {
    const changed = path.join(root, 'mr-changed.mjs');
    copyFileSync(MR_PLUGIN, changed);
    writeFileSync(changed, `${readFileSync(changed, 'utf8')}\n// another version\n`);
    chmodSync(changed, 0o644);
    const c = await coordinator([changed]);
    const plan = await c.distributeTask(task('mismatch', [mr('mismatched', 'map', { text: 'x y' }, ['count'])]), strategy('parallel'));
    const result = await c.executeDistributedTask(ok(plan));
    const failed = result.tag === 'failure' ? result.error : report(ok(result), 'mismatched').error;
    expect(failed).toMatchObject({ code: 'PLUGIN_MISMATCH', category: 'CONFIGURATION' });
    expect(doneMarkers('mismatched')).toHaveLength(0);
  });

  it('forged and unsigned jobs are refused (JOB_REJECTED) and start no agent', async () => {
    const queue = new Queue('qicoord', { connection: { path: redis.socket } });
    const inbox = new Redis({ path: redis.socket });
    const coordinatorId = 'c-forger';
    const base = { v: 1 as const, coordinator: coordinatorId, plugin: { name: 'mr', sha256: 'f'.repeat(64) }, spec: {}, timeoutMs: 5000, expiresAt: Date.now() + 60_000 };
    const forged = signJob({ ...base, session: 'forged-1', agentId: 'forged-agent-1' }, 'not-the-shared-secret');
    const { sig: _sig, ...unsigned } = signJob({ ...base, session: 'forged-2', agentId: 'forged-agent-2' }, SECRET);
    await queue.add('agent', forged, { jobId: 'forged-1', removeOnComplete: true, removeOnFail: true });
    await queue.add('agent', unsigned, { jobId: 'forged-2', removeOnComplete: true, removeOnFail: true });
    const answers = new Map<string, { kind: string; data: string }>();
    expect(
      await waitUntil(() => {
        void inbox.xrange(`qicoord:qicoord:${coordinatorId}:in`, '-', '+').then((entries) => {
          for (const [, fields] of entries) for (const e of readEntries(fields)) answers.set(e.session, { kind: e.kind, data: e.data });
        });
        return answers.size === 2;
      }, 10_000),
    ).toBe(true);
    for (const session of ['forged-1', 'forged-2']) {
      expect(answers.get(session)?.kind).toBe('refused');
      expect(JSON.parse(answers.get(session)!.data).error).toMatchObject({ code: 'JOB_REJECTED', category: 'AUTHORIZATION' });
    }
    // Workspaces are kept on the workers: an agent that had started would have left one.
    expect(['forged-agent-1', 'forged-agent-2'].map(workerOf)).toEqual([undefined, undefined]);
    await inbox.del(`qicoord:qicoord:${coordinatorId}:in`);
    inbox.disconnect();
    await queue.close();
  });
});

describe('Redis', () => {
  it('unreachable: the subtasks fail WORKER_LOST naming the connection, and the run ends', async () => {
    const nowhere = path.join(root, 'no-redis.sock');
    const c = await coordinator([MR_PLUGIN], { executor: { type: 'bullmq', connection: nowhere, lockDurationMs: LOCK_MS } });
    const result = await run(c, task('nowhere', [mr('lonely', 'map', { text: 'x' }, ['count'])]), strategy('parallel'));
    expect(result.success).toBe(false);
    expect(report(result, 'lonely').error).toMatchObject({ code: 'WORKER_LOST', category: 'SYSTEM' });
    expect(report(result, 'lonely').error?.message).toContain(nowhere);
    expect(doneMarkers('lonely')).toHaveLength(0);
  });

  it('qicoord doctor checks the configured Redis: reachable, its version, maxmemory-policy noeviction', async () => {
    const config = path.join(root, 'doctor.json');
    writeFileSync(config, JSON.stringify({ executor: { type: 'bullmq', connection: redis.socket } }));
    const doctor = async (): Promise<{ code: number; checks: { name: string; ok: boolean; detail: string }[] }> => {
      const ran = await qicoordEnv(['doctor', '--config', config, '--json'], { QICOORD_JOB_SECRET: SECRET });
      const parsed = JSON.parse(ran.stdout) as { tag: string; value?: { checks: never[] }; error?: { context: { checks: never[] } } };
      return { code: ran.code, checks: parsed.value?.checks ?? parsed.error!.context.checks };
    };
    const good = await doctor();
    expect(good.checks.find((c) => c.name === 'redis')).toMatchObject({ ok: true, detail: expect.stringMatching(/Redis \d+\.\d+/) });
    expect(good.checks.find((c) => c.name === 'redis maxmemory-policy')).toMatchObject({ ok: true });
    const client = new Redis({ path: redis.socket });
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const bad = await doctor();
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    client.disconnect();
    expect(bad.code).toBe(3);
    expect(bad.checks.find((c) => c.name === 'redis maxmemory-policy')).toMatchObject({ ok: false, detail: expect.stringContaining('noeviction') });
  });
});

describe('shutdown', () => {
  it('SIGTERM mid-run: the running subtask finishes on that worker, the worker exits 0, the run completes elsewhere', async () => {
    const spare = launchWorker('d', 2);
    await spare.proc.ready;
    const c = await coordinator();
    const ids = ['d0', 'd1', 'd2', 'd3'];
    const running = run(c, task('drain', ids.map((id) => mr(id, 'slow', { ms: 800 }, ['done']))), strategy('parallel', { maxConcurrentAgents: 2, failureHandling: 'retry-cascade' }));
    const firstStarted = (): { subtask: string; ws: string } | undefined => {
      const f = readdirSync(markers).find((name) => ids.some((id) => name.startsWith(`${id}.`)) && name.endsWith('.started'));
      return f === undefined ? undefined : { subtask: f.split('.')[0]!, ws: readFileSync(path.join(markers, f), 'utf8') };
    };
    // The marker may exist before its content is written: wait until it names a worker.
    const drainedOf = (): (typeof workers)[number] | undefined => workers.find((w) => firstStarted()?.ws.startsWith(`${w.ws}/`) === true);
    expect(await waitUntil(() => drainedOf() !== undefined, 20_000)).toBe(true);
    const { subtask } = firstStarted()!;
    const drained = drainedOf()!;
    drained.proc.child.kill('SIGTERM');
    const result = await running;
    expect(await drained.proc.exited, drained.proc.stderr()).toEqual({ code: 0, signal: null });
    expect(result.aggregatedResult.subtasks.filter((s) => s.status !== 'succeeded').map((s) => [s.id, s.error?.code, s.error?.message])).toEqual([]);
    expect(result.success).toBe(true);
    for (const id of ids) expect(doneMarkers(id)).toHaveLength(1);
    // The subtask it was running when told to drain finished there, once.
    expect(readFileSync(path.join(markers, doneMarkers(subtask)[0]!), 'utf8').startsWith(`${drained.ws}/`)).toBe(true);
    expect(report(result, subtask).attempts).toBe(1);
  });

  it('SIGTERM drains each worker (exit 0); no process and no Redis key without a TTL is left, beyond the queue itself', async () => {
    for (const c of coordinators.splice(0)) await c.close();
    const live = workers.filter((w) => w.proc.child.exitCode === null && w.proc.child.signalCode === null);
    for (const w of live) w.proc.child.kill('SIGTERM');
    for (const w of live) expect(await w.proc.exited, w.proc.stderr()).toEqual({ code: 0, signal: null });
    for (const w of live) expect(w.proc.stderr()).toContain('drained');
    expect(await waitUntil(() => processesUnder(root).length === 0, 5000)).toBe(true);
    const client = new Redis({ path: redis.socket });
    // Heartbeats of a killed worker expire after lockDurationMs; its inbox has a TTL.
    await new Promise((r) => setTimeout(r, LOCK_MS + 200));
    const keys = await client.keys('*');
    const untimed: string[] = [];
    for (const key of keys) if ((await client.pttl(key)) === -1) untimed.push(key);
    client.disconnect();
    // BullMQ's own bookkeeping of the queue (job id counter, meta, bounded events stream) is the
    // queue itself, shared by every run; nothing per job or per session stays.
    expect(untimed.sort()).toEqual(['bull:qicoord:events', 'bull:qicoord:id', 'bull:qicoord:meta'].filter((k) => keys.includes(k)));
  });
});
