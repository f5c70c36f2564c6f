/**
 * 10. Agents on other machines (executor 'bullmq'): a redis-server on a Unix socket and
 *     `qicoord worker` processes (the built CLI) on this machine standing in for two machines.
 *     - throughput of trivial subtasks through Redis on 2 workers, next to the same run on the
 *       local executor (goal ≥ 2,000/s);
 *     - the rerun of a dead worker's subtask: SIGKILL to the rerun's subtask-start (goal ≤
 *       lockDurationMs + 1 s);
 *     - makespan of 16 × 100 ms CPU subtasks over 2 workers (goal ≤ 1.10 × ideal), the job
 *       through the queue included; the workers keep warm agents (their default), so it is
 *       interleaved with the local executor both cold and with its warm pool ready.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCoordinator } from '../../dist/src/index.js';
import { benchCoordinator, FIXTURE_PLUGINS, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { BENCH_DIR, configInput, ok, scratchDir } from '../lib/env.mjs';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');
const SECRET = 'bench-remote-secret-0123456789';
const LOCK_MS = 2000;
/** Time a worker is given to start its warm agents again after a run (two agent starts on this machine, with room). */
const WARM_REFILL_MS = 1500;

async function startRedis(dir) {
  const socket = path.join(dir, 'r.sock');
  const child = spawn('/usr/bin/redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
  return { socket, stop: async () => (child.kill('SIGTERM'), await exited) };
}

function startWorker(dir, name, socket, slots) {
  const ws = path.join(dir, `ws-${name}`);
  const config = path.join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify({ plugins: FIXTURE_PLUGINS, logging: { level: 'error' }, sandbox: { workspaceRoot: ws, keepWorkspace: true }, executor: { type: 'bullmq', connection: socket, lockDurationMs: LOCK_MS } }));
  const child = spawn(process.execPath, [CLI, 'worker', '--config', config, '--slots', String(slots)], { env: { PATH: process.env.PATH, QICOORD_JOB_SECRET: SECRET }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const ready = new Promise((resolve, reject) => {
    child.stderr.on('data', (c) => {
      err += c;
      if (err.includes('qicoord worker w-')) resolve();
    });
    exited.then(() => reject(new Error(`worker ${name} exited: ${err}`)));
  });
  // A warm agent's workspace is named after the worker's own id for it: the coordinator's record
  // of the agent's workspace (on the worker's host) says which worker runs it.
  return { name, ws, child, exited, ready, holds: (workspace) => workspace.startsWith(`${ws}${path.sep}`) };
}

/** Prewarms a local coordinator's pool with `count` ready agents of the task's profile (untimed), as the makespan case does. */
async function poolReady(coordinator, task, count) {
  const { factory } = ok(await coordinator.init(), 'init');
  const plan = ok(await coordinator.distributeTask(task, strategy('parallel', 2)), 'distributeTask');
  const spec = Object.values(plan.specifications)[0];
  if (factory.warmCount < count) ok(await factory.prewarm(spec, count - factory.warmCount), 'prewarm');
}

async function remoteCoordinator(socket) {
  process.env.QICOORD_JOB_SECRET = SECRET;
  const coordinator = ok(
    await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: FIXTURE_PLUGINS, executor: { type: 'bullmq', connection: socket, lockDurationMs: LOCK_MS } }) }),
    'createCoordinator',
  );
  ok(await coordinator.plugins(), 'plugins');
  return coordinator;
}

/** Trivial subtasks/s on `agents` agents: first subtask-start to last subtask-end (agent start excluded). */
async function throughput(coordinator, n, agents, reps, label) {
  // Warm-up as long as a measured run: the coordinator, both workers and the agents all JIT the path.
  await timedRun(coordinator, independentTask(`${label}-warm`, n, 'bench-echo', (i) => ({ value: i })), strategy('parallel', agents));
  const rates = [];
  for (let r = 0; r < reps; r++) {
    const { starts, ends } = await timedRun(coordinator, independentTask(`${label}-${r}`, n, 'bench-echo', (i) => ({ value: i })), strategy('parallel', agents));
    rates.push(n / ((ends[ends.length - 1] - starts[0]) / 1000));
  }
  return rates;
}

/** SIGKILLs the worker of the first running agent; ms from the kill to the rerun's subtask-start. */
async function rerunAfterKill(coordinator, workers, label) {
  const plan = ok(await coordinator.distributeTask(independentTask(label, 2, 'bench-burn', () => ({ ms: 3000 }), 3000), strategy('parallel', 2, { failureHandling: 'retry-cascade' })), 'distributeTask');
  const events = coordinator.events();
  let killedAt;
  let victim;
  let rerunAt;
  const watching = (async () => {
    for await (const ev of events) {
      if (ev.coordinationId !== plan.distributionId) continue;
      if (ev.type === 'subtask-start' && victim === undefined) {
        const agents = ok(await coordinator.getActiveAgents(), 'getActiveAgents');
        const workspace = agents.find((a) => a.id === ev.agentId)?.workspace ?? '';
        victim = workers.find((w) => w.holds(workspace));
        if (victim !== undefined) {
          killedAt = performance.now();
          victim.child.kill('SIGKILL');
        }
      } else if (ev.type === 'subtask-start' && ev.attempt > 1 && rerunAt === undefined) rerunAt = performance.now();
      else if (ev.type === 'run-end') break;
    }
  })();
  const result = ok(await coordinator.executeDistributedTask(plan), 'executeDistributedTask');
  await watching;
  if (!result.success || killedAt === undefined || rerunAt === undefined) throw new Error(`rerun bench ${label}: success ${result.success}, killed ${killedAt !== undefined}, rerun ${rerunAt !== undefined}`);
  await victim.exited;
  return { ms: rerunAt - killedAt, victim };
}

export async function run({ figures, progress, reps, record }) {
  const dir = scratchDir('remote-');
  const redis = await startRedis(dir);
  const workers = [startWorker(dir, 'a', redis.socket, 4), startWorker(dir, 'b', redis.socket, 4)];
  await Promise.all(workers.map((w) => w.ready));
  const remote = await remoteCoordinator(redis.socket);
  const local = await benchCoordinator();
  const localPooled = await benchCoordinator();
  try {
    const n = reps(2000, 500);
    progress(`throughput: ${n} trivial subtasks, local executor (2 agents) and bullmq (2 workers × 4 agents)`);
    const localRates = [];
    const remoteRates = [];
    for (let r = 0; r < reps(3, 1); r++) {
      localRates.push(...(await throughput(local, n, 2, 1, `local-${r}`)));
      // Through Redis a round trip crosses three processes and Redis: more agents in flight hide the latency.
      remoteRates.push(...(await throughput(remote, n, 8, 1, `remote-${r}`)));
    }
    figures.add('remote.throughput.local2agents', 'subtasks/s', localRates, { note: `local executor, parallel strategy, ${n} trivial subtasks on 2 agents (as dispatch's throughput.2agents), interleaved with remote.throughput.2workers` });
    figures.add('remote.throughput.2workers', 'subtasks/s', remoteRates, {
      baseline: 'remote.throughput.local2agents',
      goal: { op: '>=', value: 2000 },
      note: `bullmq executor: ${n} trivial subtasks through Redis (Unix socket) on 2 'qicoord worker' processes, 8 agents (4 per worker); first subtask-start to last subtask-end (after a warm-up run of the same size)`,
    });

    progress('makespan: 16 × 100 ms CPU subtasks over 2 workers, next to the local executor');
    const walls = [];
    const localWalls = [];
    const localWarmWalls = [];
    const burners = (id) => independentTask(id, 16, 'bench-burn', () => ({ ms: 100 }), 100);
    for (let r = 0; r < reps(5, 2); r++) {
      localWalls.push((await timedRun(local, burners(`mk-local-${r}`), strategy('parallel', 2))).wallMs);
      // The local executor with 2 ready agents of the run's profile (prewarmed, untimed): what
      // the workers' warm agents give the remote run.
      await poolReady(localPooled, burners(`mk-pool-${r}`), 2);
      localWarmWalls.push((await timedRun(localPooled, burners(`mk-local-warm-${r}`), strategy('parallel', 2))).wallMs);
      walls.push((await timedRun(remote, independentTask(`mk-${r}`, 16, 'bench-burn', () => ({ ms: 100 }), 100), strategy('parallel', 2))).wallMs);
      // The workers start their warm agents again once the run's sessions end: that CPU must
      // not land in the next local run (on a real deployment it is another machine's).
      await new Promise((resolve) => setTimeout(resolve, WARM_REFILL_MS));
    }
    figures.add('remote.makespan.16x100ms.local', 'ms', localWalls, { ideal: 800, note: 'the same run on the local executor (2 agents), interleaved with remote.makespan.16x100ms.2workers' });
    figures.add('remote.makespan.16x100ms.localWarmPool', 'ms', localWarmWalls, { ideal: 800, note: 'the same run on the local executor with its warm pool holding 2 ready agents of the profile (as makespan.16x100ms.parallel.warmPool), interleaved with remote.makespan.16x100ms.2workers' });
    figures.add('remote.makespan.16x100ms.2workers', 'ms', walls, {
      ideal: 800,
      goal: { op: '<=', value: 1.1, of: 'ratio' },
      note: 'wall time of executeDistributedTask on the bullmq executor, 16 × 100 ms burner on 2 agents over 2 workers (warm agents on, the default: from the second run on, the workers hand out agents they started after the previous run), job through the queue and shutdown included; ideal = total work / 2',
    });

    progress(`rerun after a worker is SIGKILLed (lockDurationMs ${LOCK_MS})`);
    const reruns = [];
    for (let r = 0; r < reps(3, 1); r++) {
      // A fresh spare worker each time: the rerun needs a free slot.
      const spare = startWorker(dir, `spare-${r}`, redis.socket, 2);
      await spare.ready;
      workers.push(spare);
      const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      const { ms } = await rerunAfterKill(remote, live, `rerun-${r}`);
      reruns.push(ms);
    }
    figures.add('remote.rerun.afterWorkerKill', 'ms', reruns, {
      goal: { op: '<=', value: LOCK_MS + 1000 },
      note: `SIGKILL of the worker running a subtask to that subtask's rerun starting on another worker (heartbeat expiry after lockDurationMs ${LOCK_MS}, WORKER_LOST, retry-cascade, a new agent through the queue)`,
    });
    record('remote.lockDurationMs', LOCK_MS);
  } finally {
    await remote.close();
    await local.close();
    await localPooled.close();
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await redis.stop();
  }
}
