/**
 * What each layer of the `restricted` boundary costs at start-up: a bare script forked to its
 * first IPC message under the agents' own wrappers, built up one layer at a time from the launch
 * plan of a `restricted` agent (same node flags, env and grants throughout):
 *   node → + prlimit (kernel data cap, file size, no core) → + bubblewrap (PID, mount, IPC, UTS
 *   namespaces, the system view) → + network namespace → + seccomp filter (= the full wrapper
 *   line; with setpriv's uid drop when the coordinator is root).
 */
import { agentSpec, benchConfig, fixture, forkLike, likeForLike } from '../lib/env.mjs';
import { firstMessage, killGroup } from '../lib/proc.mjs';

/** The launch with only the wrappers `keep` leaves, the seccomp fd with them. */
function variant(launch, wrappers) {
  const seccomp = wrappers.includes('--seccomp');
  return {
    ...launch,
    wrappers,
    argv: [...wrappers, ...launch.argv.slice(launch.wrappers.length)],
    plan: { ...launch.plan, seccompFilter: seccomp ? launch.plan.seccompFilter : null },
  };
}

function layers(launch) {
  const w = launch.wrappers;
  const end = w.indexOf('--') + 1;
  const bwrap = w.slice(0, end);
  const inner = w.slice(end);
  const prlimitAt = inner.findIndex((a) => a.endsWith('/prlimit'));
  const prlimit = prlimitAt < 0 ? [] : inner.slice(prlimitAt);
  const drop = (args, ...tokens) => {
    const out = [...args];
    for (const t of tokens) {
      const at = out.indexOf(t);
      if (at >= 0) out.splice(at, t === '--seccomp' ? 2 : 1);
    }
    return out;
  };
  return [
    ['isolation.node', []],
    ['isolation.prlimit', prlimit],
    ['isolation.bwrap', [...drop(bwrap, '--unshare-net', '--seccomp'), ...inner]],
    ['isolation.netns', [...drop(bwrap, '--seccomp'), ...inner]],
    ['isolation.seccomp', w],
  ];
}

export async function run({ figures, progress, reps }) {
  const config = benchConfig();
  const spec = agentSpec(config, 'echo.mjs');
  const script = fixture('bare-ready.cjs');
  const launch = await likeForLike(config, spec, script);
  const steps = layers(launch).map(([name, wrappers]) => [name, variant(launch, wrappers)]);
  const samples = new Map(steps.map(([name]) => [name, []]));
  progress('fork → first message under each added layer (interleaved)');
  const n = reps(20, 6);
  for (let i = -2; i < n; i++) {
    for (const [name, v] of steps) {
      const t0 = performance.now();
      const child = forkLike(v, script);
      await firstMessage(child);
      const ms = performance.now() - t0;
      await killGroup(child);
      if (i >= 0) samples.get(name).push(ms);
    }
  }
  const notes = {
    'isolation.node': 'fork of a one-line .cjs to its first IPC message: node with the agents\' permission flags, no wrapper',
    'isolation.prlimit': '+ prlimit (kernel data cap, RLIMIT_FSIZE, no core dumps)',
    'isolation.bwrap': '+ bubblewrap: PID, mount, IPC, UTS namespaces, the system view, private /proc, /dev, /tmp (and setpriv\'s uid drop when root)',
    'isolation.netns': '+ a network namespace',
    'isolation.seccomp': '+ the seccomp filter: the full restricted wrapper line',
  };
  let previous;
  for (const [name] of steps) {
    figures.add(name, 'ms', samples.get(name), { ...(previous === undefined ? {} : { baseline: previous }), note: notes[name] });
    previous = name;
  }
}
