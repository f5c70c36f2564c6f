/**
 * 8. Enforcement: memory-limit overshoot and detection for a Buffer bomb (watchdog only at
 *    `monitored`; + kernel data cap at `restricted`); deadline → process exit for a busy loop
 *    and a SIGTERM ignorer; the CPU cost of polling 8 agents.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { agentSpec, BENCH_DIR, benchConfig, fixture, forkLike, likeForLike, makeFactory, ok, subtask } from '../lib/env.mjs';
import { firstMessage, whenGone } from '../lib/proc.mjs';
import { median } from '../lib/stats.mjs';

const LIMIT_MB = 256;
const FILL_MBPS = 1000;
const PAGE_MB = 4096 / (1024 * 1024);

/** Samples a pid's RSS every ms (readFileSync of /proc/<pid>/statm) until stopped. */
function rssSampler(pid) {
  const samples = [];
  const timer = setInterval(() => {
    try {
      samples.push({ t: performance.now(), mb: Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_MB });
    } catch {
      clearInterval(timer);
    }
  }, 1);
  return { samples, stop: () => clearInterval(timer) };
}

async function bomb(factory, spec, rateMBps) {
  const agent = ok(await factory.spawn(spec), 'spawn bomb');
  const baselineMB = agent.instance.resourceUsage.memoryMB;
  const sampler = rssSampler(agent.pid);
  const t0 = performance.now();
  const outcome = await agent.execute(subtask('bomb', ['out'], { maxDuration: 30_000 }), { rateMBps, chunkMB: 4 });
  const t1 = performance.now();
  await agent.exited;
  sampler.stop();
  if (outcome.tag !== 'failure' || outcome.error.code !== 'MEMORY_LIMIT') throw new Error(`the Buffer bomb was not stopped with MEMORY_LIMIT: ${JSON.stringify(outcome.tag === 'failure' ? outcome.error : outcome.value)}`);
  const c = outcome.error.context;
  const threshold = baselineMB + LIMIT_MB;
  const crossed = sampler.samples.find((s) => s.mb > threshold);
  const to = sampler.samples.reduce((best, s) => (s.mb > best.mb ? s : best), sampler.samples[0]);
  const peak = to.mb;
  const from = sampler.samples.find((s) => s.mb > baselineMB + 32);
  return {
    overshootMB: c.peakRssMB - ((c.baselineMB ?? baselineMB) + c.limitMB),
    sampledOvershootMB: peak - threshold,
    detectMs: t1 - t0,
    afterCrossMs: crossed === undefined ? undefined : t1 - crossed.t,
    fillRateMBps: from === undefined || to === undefined || to.t === from.t ? undefined : ((to.mb - from.mb) / (to.t - from.t)) * 1000,
    by: c.kernelCap === true ? 'kernel cap' : 'watchdog',
  };
}

async function bombs(factory, config, level, count, rateMBps = FILL_MBPS) {
  const spec = agentSpec(config, 'bomb.mjs', { isolationLevel: level, maxMemoryMB: LIMIT_MB });
  await bomb(factory, spec, rateMBps);
  const runs = [];
  for (let i = 0; i < count; i++) runs.push(await bomb(factory, spec, rateMBps));
  return runs;
}

/** Deadline → exit: a subtask with maxDuration 200 ms that never yields. */
async function deadline(factory, spec) {
  const agent = ok(await factory.spawn(spec), 'spawn');
  const pid = agent.pid;
  const t0 = performance.now();
  const outcome = await agent.execute(subtask('late', ['out'], { maxDuration: 200 }), {});
  const failedAt = performance.now();
  const gone = await whenGone(pid);
  if (outcome.tag !== 'failure' || outcome.error.code !== 'TIME_LIMIT') throw new Error(`expected TIME_LIMIT, got ${JSON.stringify(outcome)}`);
  await agent.exited;
  return { killMs: gone - failedAt, lateMs: failedAt - t0 - 200 };
}

/** A bare busy child (agent flags/env): signal → gone. */
async function bareKill(launch, script, mode, signal) {
  const child = forkLike(launch, script, { args: mode === undefined ? [] : [mode] });
  await firstMessage(child);
  const pid = child.pid;
  await new Promise((resolve) => setTimeout(resolve, 20));
  const t0 = performance.now();
  process.kill(pid, signal);
  const gone = await whenGone(pid);
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
  return gone - t0;
}

function hostRun(script, args, env) {
  const child = fork(path.join(BENCH_DIR, script), args, { env, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return firstMessage(child).then(async (m) => {
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
    return m;
  });
}

export async function run({ figures, progress, reps, record }) {
  const config = benchConfig();
  const factory = makeFactory(config);
  const pollMs = config.monitor.pollIntervalMs;

  for (const level of ['monitored', 'restricted']) {
    progress(`Buffer bomb at ${level} (limit ${LIMIT_MB} MB, ${FILL_MBPS} MB/s)`);
    const runs = await bombs(factory, config, level, reps(5, 2));
    const suffix = level === 'monitored' ? '' : '.restricted';
    const rate = median(runs.map((r) => r.fillRateMBps).filter((x) => x !== undefined));
    const bound = (rate * pollMs) / 1000;
    record(`enforce.memory${suffix}.stoppedBy`, runs.map((r) => r.by));
    figures.add(`enforce.memory.fillRateMBps${suffix}`, 'MB/s', runs.map((r) => r.fillRateMBps).filter((x) => x !== undefined), { note: `RSS growth rate of the bomb (1-ms /proc sampler), ${level}` });
    figures.add(`enforce.memory.overshootMB${suffix}`, 'MB', runs.map((r) => r.overshootMB), {
      baseline: { name: `fill rate × poll interval (${pollMs} ms)`, median: bound },
      goal: level === 'monitored' ? { op: '<=', value: 1, of: 'ratio' } : { op: '<=', value: 0 },
      note: `peakRssMB − (baselineMB + limitMB) from the MEMORY_LIMIT error's context, ${level}; stopped by ${[...new Set(runs.map((r) => r.by))].join(' / ')}`,
    });
    figures.add(`enforce.memory.overshootMB.sampled${suffix}`, 'MB', runs.map((r) => r.sampledOvershootMB), {
      baseline: { name: `fill rate × poll interval (${pollMs} ms)`, median: bound },
      note: `true peak RSS seen by a 1-ms /proc sampler − (baseline + limit), ${level}`,
    });
    figures.add(`enforce.memory.detectMs${suffix}`, 'ms', runs.map((r) => r.detectMs), {
      baseline: { name: `time to fill the limit at the fill rate`, median: (LIMIT_MB / rate) * 1000 },
      note: `subtask start → MEMORY_LIMIT failure, ${level}`,
    });
    const after = runs.map((r) => r.afterCrossMs).filter((x) => x !== undefined);
    if (after.length > 0) {
      figures.add(`enforce.memory.detectAfterCrossMs${suffix}`, 'ms', after, {
        baseline: { name: 'poll interval', median: pollMs },
        note: `RSS first above baseline + limit (1-ms sampler) → MEMORY_LIMIT failure, ${level}`,
      });
    }
  }

  progress('unpaced Buffer bomb at restricted (the kernel data cap is the backstop)');
  const unpaced = await bombs(factory, config, 'restricted', reps(5, 2), 1e9);
  record('enforce.memory.kernelCap.stoppedBy', unpaced.map((r) => r.by));
  figures.add('enforce.memory.overshootMB.kernelCap', 'MB', unpaced.map((r) => r.sampledOvershootMB), {
    goal: { op: '<=', value: 0 },
    note: `Buffer bomb allocating 4 MB chunks without yielding (≈ ${Math.round(median(unpaced.map((r) => r.fillRateMBps ?? 0)))} MB/s), restricted: true peak RSS (1-ms sampler) − (baseline + limit); stopped by ${[...new Set(unpaced.map((r) => r.by))].join(' / ')}`,
  });
  figures.add('enforce.memory.detectMs.kernelCap', 'ms', unpaced.map((r) => r.detectMs), { note: 'unpaced bomb, restricted: subtask start → MEMORY_LIMIT failure' });

  progress('deadline → exit: busy loop, SIGTERM ignorer; bare signal → exit');
  const grace = config.sandbox.killGraceMs;
  const busyScript = fixture('bare-busy.cjs');
  const launch = await likeForLike(config, agentSpec(config, 'busy.mjs'), busyScript);
  const bareTerm = [];
  const bareKill9 = [];
  for (let i = -1; i < reps(7, 3); i++) {
    const a = await bareKill(launch, busyScript, undefined, 'SIGTERM');
    const b = await bareKill(launch, busyScript, 'ignore-sigterm', 'SIGKILL');
    if (i >= 0) {
      bareTerm.push(a);
      bareKill9.push(b);
    }
  }
  figures.add('kill.sigterm.bare', 'ms', bareTerm, { note: 'bare busy child (agent flags/env): SIGTERM → pid gone from /proc' });
  figures.add('kill.sigkill.bare', 'ms', bareKill9, { note: 'bare busy child ignoring SIGTERM: SIGKILL → pid gone' });
  for (const [plugin, name, floor, floorName] of [
    ['busy.mjs', 'enforce.timeout.killMs', grace + median(bareTerm), `killGraceMs (${grace}) + kill.sigterm.bare`],
    ['sigterm-ignorer.mjs', 'enforce.sigtermIgnorer.killMs', 2 * grace + median(bareKill9), `2 × killGraceMs (${2 * grace}) + kill.sigkill.bare`],
  ]) {
    const spec = agentSpec(config, plugin);
    await deadline(factory, spec);
    const runs = [];
    for (let i = 0; i < reps(5, 2); i++) runs.push(await deadline(factory, spec));
    figures.add(name, 'ms', runs.map((r) => r.killMs), {
      baseline: { name: floorName, median: floor },
      note: `TIME_LIMIT at maxDuration 200 ms (${plugin}) → agent pid gone (1-ms /proc poll); the policy is cancel → SIGTERM after killGraceMs → SIGKILL after another`,
    });
    record(`${name}.deadlineLateMs`, runs.map((r) => r.lateMs));
  }
  await factory.close();

  progress('monitoring cost: a coordinator host with 8 idle agents and a bare pidusage poller, side by side (both near idle)');
  const windowMs = String(reps(2000, 1000));
  const windows = String(reps(3, 2));
  const env = { PATH: process.env.PATH ?? '' };
  const monitorCost = Promise.all([
    hostRun('hosts/coordinate.mjs', ['monitor', windowMs, windows], env),
    hostRun('hosts/poll.mjs', [fixture('bare-idle.cjs'), String(pollMs), windowMs, windows], env),
  ]);

  const [ours, bare] = await monitorCost;
  const idleOurs = median(ours.without);
  const idleBare = median(bare.idle);
  figures.add('monitor.cpuPercent.pidusage.bare', '% of a core', bare.polling.map((x) => x - idleBare), {
    note: `bare poller: pidusage on 8 idle children every ${pollMs} ms, CPU of its process minus the same process idle`,
  });
  figures.add('monitor.cpuPercent.8agents', '% of a core', ours.withAgents.map((x) => x - idleOurs), {
    baseline: 'monitor.cpuPercent.pidusage.bare',
    goal: { op: '<=', value: 1.5 },
    note: `coordinator process with 8 idle agents (monitor.pollIntervalMs ${pollMs}): CPU minus the same coordinator with 0 agents`,
  });
  record('monitor.raw', { ours, bare });
}
