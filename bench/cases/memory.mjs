/**
 * 7. Coordinator RSS while coordinating 8 agents vs. an idle Node process (both in their own
 *    process, same env and flags); each agent's idle RSS (and private memory) vs. a bare idle
 *    node with the agents' wrappers, flags and env.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { agentSpec, BENCH_DIR, benchConfig, fixture, forkLike, likeForLike, makeFactory, ok } from '../lib/env.mjs';
import { firstMessage, killGroup, rssMB, sleep, ussMB } from '../lib/proc.mjs';

/** The coordinator hosts and the idle baseline get only PATH (setpriv/prlimit are found on it). */
const HOST_ENV = { PATH: process.env.PATH ?? '' };

/** `samples` readings of fn() every `everyMs`. */
async function sampleEvery(fn, samples, everyMs) {
  const out = [];
  for (let i = 0; i < samples; i++) {
    out.push(fn());
    await sleep(everyMs);
  }
  return out;
}

async function coordinatorRss(samples) {
  const host = fork(path.join(BENCH_DIR, 'hosts/coordinate.mjs'), ['rss'], { env: HOST_ENV, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const report = await firstMessage(host);
  const rss = await sampleEvery(() => rssMB(report.pid), samples, 100);
  const agents = report.agents.map((pid) => rssMB(pid));
  host.send('done');
  await new Promise((resolve) => host.once('exit', resolve));
  return { rss, agents, inside: report.memory };
}

async function idleNodeRss(samples) {
  const idle = fork(fixture('bare-idle.cjs'), { env: HOST_ENV, execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await firstMessage(idle);
  await sleep(300);
  const rss = await sampleEvery(() => rssMB(idle.pid), samples, 100);
  await killGroup(idle);
  return rss;
}

export async function run({ figures, progress, reps, record }) {
  progress('coordinator.rss vs node.idle.rss (separate processes)');
  const samples = reps(10, 4);
  const idle = await idleNodeRss(samples);
  const coord = await coordinatorRss(samples);
  figures.add('node.idle.rss', 'MB', idle, { note: 'VmRSS of an idle `node` (fork of a 3-line .cjs), env {PATH}, no flags: what the coordinator process would weigh doing nothing' });
  figures.add('coordinator.rss', 'MB', coord.rss, {
    baseline: 'node.idle.rss',
    note: 'VmRSS of a coordinator process (same env, no flags) running 8 holder subtasks on 8 agents, sampled every 100 ms while all 8 run',
  });
  figures.add('coordinator.rss.overIdle', 'MB', coord.rss.map((x) => x - figures.get('node.idle.rss').median), {
    goal: { op: '<', value: 30 },
    note: 'coordinator.rss − median node.idle.rss',
  });
  record('coordinator.memoryUsage', coord.inside);

  progress('agent.idle.rss vs node.idle.rss.sandboxed (8 each)');
  const config = benchConfig();
  const factory = makeFactory(config);
  const spec = agentSpec(config, 'echo.mjs');
  const script = fixture('bare-idle.cjs');
  const launch = await likeForLike(config, spec, script);
  const agents = [];
  const bare = [];
  for (let i = 0; i < 8; i++) {
    agents.push(ok(await factory.spawn(spec), 'spawn'));
    const child = forkLike(launch, script);
    await firstMessage(child);
    bare.push(child);
  }
  await sleep(500);
  figures.add('node.idle.rss.sandboxed', 'MB', bare.map((c) => rssMB(c.pid)), { note: 'VmRSS of 8 idle bare children with the agents\' wrappers, node flags and empty env' });
  figures.add('agent.idle.rss', 'MB', agents.map((a) => rssMB(a.pid)), {
    baseline: 'node.idle.rss.sandboxed',
    note: 'VmRSS of 8 idle, ready agents (bootstrap + echo plugin loaded), 500 ms after start',
  });
  figures.add('node.idle.uss.sandboxed', 'MB', bare.map((c) => ussMB(c.pid)), { note: 'private memory (USS) of the same bare children' });
  figures.add('agent.idle.uss', 'MB', agents.map((a) => ussMB(a.pid)), {
    baseline: 'node.idle.uss.sandboxed',
    note: 'private memory (USS, Private_Clean + Private_Dirty from smaps_rollup) of the same agents: what each agent really adds',
  });
  await Promise.all([...bare.map(killGroup), ...agents.map((a) => a.terminate('bench'))]);
  await factory.close();
}
