/**
 * 1. Cold SubAgent spawn to ready vs. bare fork to its first IPC message (same wrappers, flags
 *    and env); 2. warm-pool hand-out latency.
 */
import { RUNTIME } from '../../dist/src/subagent/package-root.js';
import { agentSpec, benchConfig, fixture, forkLike, likeForLike, makeFactory, ok, procArgv, procEnvNames } from '../lib/env.mjs';
import { firstMessage, killGroup } from '../lib/proc.mjs';

async function coldSpawn(factory, spec) {
  const t0 = performance.now();
  const agent = ok(await factory.spawn(spec, {}, { pooled: false }), 'spawn');
  const ms = performance.now() - t0;
  return { ms, agent };
}

async function bareFork(launch, script) {
  const t0 = performance.now();
  const child = forkLike(launch, script);
  await firstMessage(child);
  const ms = performance.now() - t0;
  return { ms, child };
}

/**
 * Compares a live agent's node argv (from /proc) and env with the baseline's. Masked, because
 * they must differ: each one's workspace, the script, and the script's own directory (granted
 * first: bench/fixtures for the bare script, which is also the echo plugin's directory, so an
 * agent has it too; the agent's entry, dist/cjs/sandbox/agent.cjs, lies in the runtime grant
 * dist/cjs, which the baseline has as well: the set of grants is the same).
 */
function likeForLikeCheck(agent, launch, script) {
  const ws = agent.instance.workspace;
  const mine = procArgv(agent.pid, [[ws, '<workspace>'], [RUNTIME.bootstrap, '<script>'], ['/bench/fixtures', '/<runtime>']]);
  const theirs = [launch.argv[launch.wrappers.length], ...launch.nodeFlags, '<script>'].map((a) =>
    [[launch.cwd, '<workspace>'], [script, '<script>'], ['/bench/fixtures', '/<runtime>']].reduce((s, [f, t]) => s.split(f).join(t), a),
  );
  const sorted = (xs) => [...new Set(xs)].sort();
  return {
    agentNodeArgv: mine,
    baselineArgv: [...launch.wrappers, ...theirs],
    sameNodeFlags: JSON.stringify(sorted(mine)) === JSON.stringify(sorted(theirs)),
    agentEnv: procEnvNames(agent.pid),
    baselineEnv: Object.keys(launch.env),
    layers: agent.instance.layers,
  };
}

export async function run({ figures, progress, reps, record }) {
  const config = benchConfig();
  const factory = makeFactory(config);
  const spec = agentSpec(config, 'echo.mjs');
  const script = fixture('bare-ready.cjs');
  const launch = await likeForLike(config, spec, script);

  progress('spawn.cold vs fork.ready (interleaved)');
  const ours = [];
  const bare = [];
  const n = reps(30, 8);
  for (let i = -3; i < n; i++) {
    const a = await coldSpawn(factory, spec);
    if (i === -3) record('likeForLike.spawn', likeForLikeCheck(a.agent, launch, script));
    await a.agent.terminate('bench');
    const b = await bareFork(launch, script);
    await killGroup(b.child);
    if (i >= 0) {
      ours.push(a.ms);
      bare.push(b.ms);
    }
  }
  figures.add('fork.ready', 'ms', bare, { note: 'child_process.fork of a one-line .cjs to its first IPC message; same setpriv/prlimit wrappers, node flags and empty env as an agent' });
  figures.add('spawn.cold', 'ms', ours, {
    baseline: 'fork.ready',
    goal: { op: '<=', value: 1.3, of: 'ratio' },
    note: 'SubAgentFactory.spawn at restricted isolation (permission model, heap cap, kernel data cap) to ready: plugin loaded, handshake done',
  });

  progress('spawn.warm (pool hand-out)');
  const pooledConfig = benchConfig({ pool: { enabled: true, size: 1 } });
  const pooled = makeFactory(pooledConfig);
  const pooledSpec = agentSpec(pooledConfig, 'echo.mjs');
  const warm = [];
  for (let i = -3; i < reps(30, 8); i++) {
    ok(await pooled.prewarm(pooledSpec, 1), 'prewarm');
    const t0 = performance.now();
    const agent = ok(await pooled.spawn(pooledSpec, {}, { pooled: true, refill: false }), 'pooled spawn');
    const ms = performance.now() - t0;
    await agent.terminate('bench');
    if (i >= 0) warm.push(ms);
  }
  figures.add('spawn.warm', 'ms', warm, { goal: { op: '<', value: 5 }, note: 'spawn() handing out a pre-started agent of the same profile (prewarm, then pooled spawn)' });
  await Promise.all([factory.close(), pooled.close()]);
}
