/**
 * Redis going away mid-run (persistence off: every key, job and stream is gone). Restarted: the
 * subtask in flight is rerun (retry-cascade) or fails WORKER_LOST. Staying down: it fails
 * WORKER_LOST naming the connection, and the coordinator closes. Never a hang; the worker
 * drains with exit 0 afterwards.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCoordinator, type MultiAgentCoordinator } from '../../src/index.js';
import { ok } from '../helpers.js';
import { processesUnder, report, strategy, task } from '../live-helpers.js';
import { waitUntil } from '../sandbox-helpers.js';
import { startRedis, type TestRedis } from './redis-server.js';
import { startWorker, type WorkerProcess } from './worker-process.js';

const MR_PLUGIN = path.join(import.meta.dirname, 'fixtures/mr.mjs');
const SECRET = 'restart-test-secret-0123456789';

let redis: TestRedis | undefined;
let worker: WorkerProcess | undefined;
let coordinator: MultiAgentCoordinator | undefined;
const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-restart-')));

afterEach(async () => {
  await coordinator?.close();
  if (worker !== undefined && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  await redis?.stop();
  redis = undefined;
  worker = undefined;
  coordinator = undefined;
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('Redis restarting mid-run', () => {
  it.each([
    ['restarts', true],
    ['stays down', false],
  ])('%s: the run ends (a rerun, or WORKER_LOST), and the worker drains afterwards', async (name, restarts) => {
    process.env['QICOORD_JOB_SECRET'] = SECRET;
    chmodSync(root, 0o755);
    const markers = path.join(root, `markers-${name}`);
    mkdirSync(markers);
    redis = await startRedis();
    const ws = path.join(root, `ws-worker-${name}`);
    const config = path.join(root, `worker-${name}.json`);
    writeFileSync(config, JSON.stringify({ plugins: [MR_PLUGIN], logging: { level: 'error' }, sandbox: { workspaceRoot: ws, writePaths: [markers] }, executor: { type: 'bullmq', connection: redis.socket, lockDurationMs: 1000 } }));
    worker = startWorker(['--config', config, '--slots', '2'], { QICOORD_JOB_SECRET: SECRET });
    await worker.ready;
    coordinator = ok(
      await createCoordinator({
        cwd: root,
        config: { plugins: [MR_PLUGIN], logging: { level: 'silent' }, pool: { enabled: false }, sandbox: { workspaceRoot: path.join(root, 'ws-coordinator') }, executor: { type: 'bullmq', connection: redis.socket, lockDurationMs: 1000 } },
      }),
    );
    const subtask = { id: 'through', agent: 'mr', inputs: [{ name: 'op', value: 'slow' }, { name: 'ms', value: 2000 }, { name: 'markers', value: markers }], expectedOutputs: [{ name: 'done' }] };
    const plan = ok(await coordinator.distributeTask(task('restart', [subtask]), strategy('parallel', { maxConcurrentAgents: 1, failureHandling: 'retry-cascade' })));
    const running = coordinator.executeDistributedTask(plan);
    expect(await waitUntil(() => readdirSync(markers).some((f) => f.endsWith('.started')), 20_000)).toBe(true);
    const dir = redis.dir;
    await redis.stop(true);
    if (restarts) redis = await startRedis(dir);
    const result = ok(await running);
    const through = report(result, 'through');
    if (through.status === 'succeeded') expect(through.attempts).toBeGreaterThan(1);
    else expect(through.error).toMatchObject({ code: 'WORKER_LOST' });
    if (!restarts) expect(through.error?.message).toContain(path.join(dir, 'r.sock'));
    await coordinator.close();
    coordinator = undefined;
    if (!restarts) redis = await startRedis(dir);
    worker.child.kill('SIGTERM');
    expect(await worker.exited, worker.stderr()).toEqual({ code: 0, signal: null });
    expect(await waitUntil(() => processesUnder(ws).length === 0, 5000)).toBe(true);
  }, 60_000);
});
