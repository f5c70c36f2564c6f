/**
 * Where a cold SubAgent spawn's time goes: performance.now() spans around the factory's steps
 * (run with the same internals the factory uses), and bare children that add one ingredient at
 * a time (wrappers, permission flags, the fd-3 pipe, ESM, the bootstrap, the plugin). All
 * children get the agents' empty env. `node bench/profile/spawn-spans.mjs [reps]`.
 */
import { execa } from 'execa';
import { detectHost } from '../../dist/src/subagent/host.js';
import { planLaunch } from '../../dist/src/subagent/launch.js';
import { AgentProcess } from '../../dist/src/subagent/process.js';
import { createWorkspace, removeWorkspace } from '../../dist/src/subagent/workspace.js';
import { RUNTIME } from '../../dist/src/subagent/package-root.js';
import { pluginReadPaths } from '../../dist/src/subagent/plugin-source.js';
import { agentSpec, benchConfig, fixture, forkLike, likeForLike, makeFactory, ok } from '../lib/env.mjs';
import { firstMessage, killGroup } from '../lib/proc.mjs';
import { summarize } from '../lib/stats.mjs';

const reps = Number(process.argv[2] ?? 20);
const config = benchConfig();
const spec = agentSpec(config, 'echo.mjs');
const host = await detectHost(config.sandbox.nodePath);
const series = new Map();
const add = (name, ms) => series.set(name, [...(series.get(name) ?? []), ms]);

function plan(bootstrapPath, workspace, overrides = {}) {
  return ok(
    planLaunch({
      spec: { ...spec, ...overrides.spec },
      host: { ...host, ...overrides.host },
      nodePath: config.sandbox.nodePath,
      bootstrapPath,
      runtimeReadPaths: RUNTIME.readPaths,
      pluginReadPaths: pluginReadPaths(spec.plugin),
      workspace,
      extraReadPaths: [],
      extraWritePaths: [],
      env: {},
      networkIsolation: config.sandbox.networkIsolation,
      onUnavailable: 'fail',
    }),
    'planLaunch',
  );
}

/** execa a plan whose script writes one line on fd 3: spawn → first line. */
async function fd3(p) {
  const t0 = performance.now();
  // fd 4 carries the seccomp program bubblewrap reads (`--seccomp 4`), as for an agent.
  const stdio = p.seccompFilter === null ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'];
  const child = execa(p.command, [...p.args], { cwd: p.cwd, env: {}, extendEnv: false, stdio, detached: true, cleanup: false, buffer: false, reject: false });
  if (p.seccompFilter !== null) child.stdio[4].end(Buffer.from(p.seccompFilter));
  await new Promise((resolve) => child.stdio[3].once('data', resolve));
  const ms = performance.now() - t0;
  child.stdio[3].destroy();
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
  await child;
  return ms;
}

/**
 * The factory's own spawn, split by timestamps taken inside it: AgentProcess.spawn is wrapped
 * (the factory calls it through the same module), so the handshake messages are timed as the
 * factory receives them, with the init message the factory builds.
 */
const marks = {};
const originalSpawn = AgentProcess.spawn;
AgentProcess.spawn = function timedSpawn(plan, options) {
  marks.spawnCall = performance.now();
  const onMessage = options.handlers.onMessage;
  const handlers = {
    ...options.handlers,
    onMessage: (m) => {
      if (m.type === 'hello') marks.hello = performance.now();
      else if (m.type === 'ready') marks.ready = performance.now();
      onMessage(m);
    },
  };
  const proc = originalSpawn.call(this, plan, { ...options, handlers });
  marks.spawnReturn = performance.now();
  return proc;
};

async function factorySteps(factory) {
  const t0 = performance.now();
  const agent = ok(await factory.spawn(spec), 'spawn');
  const t1 = performance.now();
  add('factory.spawn (total)', t1 - t0);
  add('  prepare: spec parse, budget, workspace, detectHost, planLaunch, symlink walk', marks.spawnCall - t0);
  add('  child_process.spawn() of the wrapper line', marks.spawnReturn - marks.spawnCall);
  add('  child: bwrap → setpriv → prlimit → node, node start, runtime bundle loaded → hello', marks.hello - marks.spawnReturn);
  add('  hello → ready: init (already in the pipe), net guard, plugin import, ready', marks.ready - marks.hello);
  add('  ready → spawn() resolves: adopt (broker, instance, monitor.watch)', t1 - marks.ready);
  await agent.terminate('done');
}

const factory = makeFactory(config);
const launch = await likeForLike(config, spec, fixture('bare-ready.cjs'));
const ws = createWorkspace(config.sandbox.workspaceRoot, 'prof-bare');
const noWrappers = { host: { setpriv: null, prlimit: null } };
const noPermission = { spec: { isolationLevel: 'monitored' }, host: { setpriv: null, prlimit: null, permissionAudit: false } };
for (let i = -3; i < reps; i++) {
  const warm = i < 0;
  const run = async (name, fn) => {
    const ms = await fn();
    if (!warm && ms !== undefined) add(name, ms);
  };
  if (!warm) await factorySteps(factory);
  else ok(await factory.spawn(spec), 'spawn');
  await run('bare: fork .cjs → IPC message (wrappers + flags) = fork.ready', async () => {
    const t0 = performance.now();
    const c = forkLike(launch, fixture('bare-ready.cjs'));
    await firstMessage(c);
    const ms = performance.now() - t0;
    await killGroup(c);
    return ms;
  });
  await run('bare: execa .cjs → fd-3 line, no wrappers, no permission flags', () => fd3(plan(fixture('bare-fd3.cjs'), ws, noPermission)));
  await run('bare: execa .cjs → fd-3 line, permission flags, no wrappers', () => fd3(plan(fixture('bare-fd3.cjs'), ws, noWrappers)));
  await run('bare: execa .cjs → fd-3 line, wrappers + permission flags', () => fd3(plan(fixture('bare-fd3.cjs'), ws)));
  await run('bare: execa .mjs → fd-3 line, wrappers + permission flags', () => fd3(plan(fixture('bare-fd3.mjs'), ws)));
}
await factory.close();
removeWorkspace(ws);
const width = Math.max(...[...series.keys()].map((k) => k.length));
for (const [name, samples] of series) {
  const s = summarize(samples);
  console.log(`${name.padEnd(width)}  median ${s.median.toFixed(2).padStart(7)} ms  min ${s.min.toFixed(2).padStart(7)}  p95 ${s.p95.toFixed(2).padStart(7)}  n ${s.n}`);
}
