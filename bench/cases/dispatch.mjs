/**
 * 3. Per-subtask dispatch round trip through the coordinator vs. a bare fork IPC round trip;
 *    throughput of trivial subtasks on 2 agents vs. tinypool (child_process) and a bare 2-child
 *    fork ping-pong, all children with the agents' flags and environment.
 */
import Tinypool from 'tinypool';
import { agentSpec, benchConfig, fixture, forkLike, likeForLike, makeFactory, ok, subtask } from '../lib/env.mjs';
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { killGroup } from '../lib/proc.mjs';
import { ALL_CPUS, canPin, pin } from '../lib/pin.mjs';
import { tinypoolRate } from './throughput.mjs';
import { findNodePid } from '../../dist/src/subagent/process.js';

/** One echo round trip on a bare forked child. */
function echo(child, message) {
  return new Promise((resolve) => {
    child.once('message', resolve);
    child.send(message);
  });
}

async function bareRtt(child, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await echo(child, { id: i, value: i });
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

async function agentRtt(agent, n) {
  const task = subtask('rtt', ['out']);
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    ok(await agent.execute(task, { value: i }), 'execute');
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

/** Bare fork ping-pong on `children`, one message in flight each, `total` messages; msgs/s. */
async function pingPong(children, total) {
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    children.map(async (child) => {
      while (sent < total) {
        sent++;
        await echo(child, { value: sent });
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** The placements measured: both ends on CPU 0, or the bench on CPU 0 and the child on CPU 1. */
const PLACEMENTS = [
  { name: 'sameCpu', child: 0, what: 'bench and child pinned to the same CPU' },
  { name: 'crossCpu', child: 1, what: 'bench pinned to CPU 0, child to CPU 1' },
];

/**
 * Round trips with a fixed CPU placement, like for like: the bare fork and the agent pinned the
 * same way, their blocks interleaved. The coordinator run's agent starts on the child's CPU (it
 * inherits the bench's affinity, moved there for the start) and the bench moves back to CPU 0
 * once the run's first subtask starts.
 */
async function pinnedRtt({ figures, progress, reps }, config, spec, launch, echoScript) {
  for (const placement of PLACEMENTS) {
    progress(`dispatch.rtt.${placement.name}: ${placement.what}`);
    pin(process.pid, 0);
    const factory = makeFactory(config);
    const agent = ok(await factory.spawn(spec), 'spawn');
    const child = forkLike(launch, echoScript);
    await echo(child, 'warm');
    pin(agent.pid, placement.child);
    pin(findNodePid(child.pid), placement.child);
    const ours = [];
    const bare = [];
    await agentRtt(agent, 200);
    await bareRtt(child, 200);
    for (let b = 0; b < reps(10, 3); b++) {
      ours.push(...(await agentRtt(agent, 200)));
      bare.push(...(await bareRtt(child, 200)));
    }
    await killGroup(child);
    await agent.terminate('bench');
    await factory.close();
    figures.add(`fork.ipc.rtt.${placement.name}`, 'µs', bare, { note: `bare forked child echoing a small IPC message, one in flight; ${placement.what}` });
    figures.add(`dispatch.rtt.agent.${placement.name}`, 'µs', ours, {
      baseline: `fork.ipc.rtt.${placement.name}`,
      goal: { op: '<=', value: 1.5, of: 'ratio' },
      note: `SubAgent.execute of a trivial subtask on a live agent; ${placement.what}`,
    });

    const coordinator = await benchCoordinator();
    const n = reps(300, 100);
    const gaps = [];
    for (let r = 0; r < reps(3, 1); r++) {
      pin(process.pid, placement.child);
      const { ends } = await timedRun(coordinator, independentTask(`pin-${placement.name}-${r}`, n, 'bench-echo', (i) => ({ value: i })), strategy('sequential', 1), () => pin(process.pid, 0));
      // The first gaps may still include the move back to CPU 0.
      for (let i = 11; i < ends.length; i++) gaps.push((ends[i] - ends[i - 1]) * 1000);
    }
    await coordinator.close();
    figures.add(`dispatch.rtt.${placement.name}`, 'µs', gaps, {
      baseline: `fork.ipc.rtt.${placement.name}`,
      goal: { op: '<=', value: 1.5, of: 'ratio' },
      note: `coordinator run, sequential strategy, ${n} trivial subtasks on 1 agent (time between consecutive subtask-end events); ${placement.what}`,
    });
  }
  pin(process.pid, ALL_CPUS);
}

export async function run({ figures, progress, reps, quick }) {
  const config = benchConfig();
  const spec = agentSpec(config, 'echo.mjs');
  const echoScript = fixture('bare-echo.cjs');
  const launch = await likeForLike(config, spec, echoScript);

  progress('dispatch.rtt.agent vs fork.ipc.rtt (interleaved blocks)');
  const factory = makeFactory(config);
  const agent = ok(await factory.spawn(spec), 'spawn');
  const child = forkLike(launch, echoScript);
  await echo(child, 'warm');
  const ours = [];
  const bare = [];
  await agentRtt(agent, 200);
  await bareRtt(child, 200);
  const blocks = reps(10, 3);
  for (let b = 0; b < blocks; b++) {
    ours.push(...(await agentRtt(agent, 200)));
    bare.push(...(await bareRtt(child, 200)));
  }
  figures.add('fork.ipc.rtt', 'µs', bare, { note: 'bare forked child (agent flags/env) echoing a small IPC message, one in flight' });
  figures.add('dispatch.rtt.agent', 'µs', ours, { baseline: 'fork.ipc.rtt', note: 'SubAgent.execute of a trivial subtask on a live agent (no coordinator run): channel, schema checks, ctx, plugin call' });

  progress('fork ping-pong with 2 children');
  const pair = [child, forkLike(launch, echoScript)];
  await echo(pair[1], 'warm');
  const total = reps(20_000, 5_000);
  await pingPong(pair, 2_000);
  const bareRates = [];
  for (let r = 0; r < reps(5, 2); r++) bareRates.push(await pingPong(pair, total));
  figures.add('throughput.fork.2children', 'subtasks/s', bareRates, { note: 'bare fork ping-pong, 2 children (agent flags/env), 1 message in flight each' });
  await Promise.all(pair.map(killGroup));
  await agent.terminate('bench');
  await factory.close();

  progress('tinypool child_process, 2 workers');
  // Same node flags and empty env as an agent; tinypool forks process.execPath itself, so no
  // setpriv/prlimit wrappers (they cost only at start, not per task).
  const pool = new Tinypool({ filename: fixture('tinypool-task.cjs'), runtime: 'child_process', minThreads: 2, maxThreads: 2, env: {}, execArgv: launch.nodeFlags });
  await tinypoolRate(pool, 2_000);
  const poolRates = [];
  for (let r = 0; r < reps(5, 2); r++) poolRates.push(await tinypoolRate(pool, total));
  await pool.destroy();
  figures.add('tinypool.child_process', 'subtasks/s', poolRates, { note: `tinypool runtime child_process, 2 workers, ${total} trivial tasks, 64 outstanding` });

  progress('coordinator runs: dispatch.rtt (sequential) and throughput.2agents (parallel)');
  const coordinator = await benchCoordinator();
  const seqN = reps(300, 100);
  await timedRun(coordinator, independentTask('seq-warm', 50, 'bench-echo', (i) => ({ value: i })), strategy('sequential', 1));
  const gaps = [];
  for (let r = 0; r < reps(3, 1); r++) {
    const { ends } = await timedRun(coordinator, independentTask(`seq-${r}`, seqN, 'bench-echo', (i) => ({ value: i })), strategy('sequential', 1));
    for (let i = 1; i < ends.length; i++) gaps.push((ends[i] - ends[i - 1]) * 1000);
  }
  figures.add('dispatch.rtt', 'µs', gaps, {
    baseline: 'fork.ipc.rtt',
    goal: { op: '<=', value: 1.5, of: 'ratio' },
    note: `coordinator run, sequential strategy, ${seqN} trivial subtasks on 1 agent: time between consecutive subtask-end events`,
  });

  const n = reps(1000, 300);
  await timedRun(coordinator, independentTask('tp-warm', 200, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
  const rates = [];
  for (let r = 0; r < reps(5, 2); r++) {
    const { starts, ends } = await timedRun(coordinator, independentTask(`tp-${r}`, n, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
    rates.push(n / ((ends[ends.length - 1] - starts[0]) / 1000));
  }
  figures.add('throughput.2agents', 'subtasks/s', rates, {
    baseline: 'tinypool.child_process',
    goal: { op: '>=', value: 1, of: 'ratio' },
    note: `coordinator run, parallel strategy, ${n} independent trivial subtasks on 2 agents; first subtask-start to last subtask-end (agent start excluded)`,
  });
  await coordinator.close();

  if (canPin()) await pinnedRtt({ figures, progress, reps }, config, spec, launch, echoScript);
  else progress('dispatch.rtt by CPU placement skipped: taskset or a second CPU is missing');
}
