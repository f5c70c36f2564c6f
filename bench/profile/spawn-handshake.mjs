/**
 * The agent's start-up handshake, driven by hand so that variants run interleaved in one process:
 * the runtime as fourteen CommonJS files (dist/cjs/sandbox/bootstrap.js) or as the one-file
 * bundle agents run (RUNTIME.bootstrap), `init` sent on `hello` (a round trip) or at once after the
 * spawn (pipelined). Same plan, wrappers, flags and env as an agent (likeForLike with the entry
 * as its script); fork.ready alongside.
 * `node bench/profile/spawn-handshake.mjs [reps]`
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { RUNTIME } from '../../dist/src/subagent/package-root.js';
import { agentSpec, benchConfig, fixture, forkLike, likeForLike } from '../lib/env.mjs';
import { firstMessage, killGroup } from '../lib/proc.mjs';
import { summarize } from '../lib/stats.mjs';

const reps = Number(process.argv[2] ?? 20);
const config = benchConfig();
const spec = agentSpec(config, 'echo.mjs');
const files = path.join(path.dirname(RUNTIME.bootstrap), 'bootstrap.js');

async function handshake(launch, pipelined) {
  const t0 = performance.now();
  const p = launch.plan;
  const child = spawn(p.command, [...p.args], { cwd: p.cwd, env: { ...p.env }, stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'], detached: true });
  child.stdio[4].end(Buffer.from(p.seccompFilter));
  child.stdout.resume();
  child.stderr.resume();
  const init = `${JSON.stringify({ __qicoord: 1, type: 'init', agentId: 'a1', pluginPath: spec.plugin, workspace: p.cwd, grants: { read: [p.cwd], write: [p.cwd] }, netGuard: { mode: 'deny-all', hosts: [] }, logLevel: 'info' })}\n`;
  if (pipelined) child.stdio[3].write(init);
  const marks = {};
  await new Promise((resolve, reject) => {
    let buf = '';
    child.once('exit', (c, s) => reject(new Error(`exit ${c} ${s}`)));
    child.stdio[3].on('data', (chunk) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const m = JSON.parse(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (m.type === 'hello') {
          marks.hello = performance.now() - t0;
          if (!pipelined) child.stdio[3].write(init);
        } else if (m.type === 'ready') {
          marks.ready = performance.now() - t0;
          resolve();
        } else if (m.type === 'init-failed') reject(new Error(JSON.stringify(m)));
      }
    });
  });
  child.removeAllListeners('exit');
  await killGroup(child);
  return marks;
}

const built = await likeForLike(config, spec, files);
const bundled = await likeForLike(config, spec, RUNTIME.bootstrap);
const bare = await likeForLike(config, spec, fixture('bare-ready.cjs'));
const series = new Map();
const add = (name, ms) => series.set(name, [...(series.get(name) ?? []), ms]);
for (let i = -3; i < reps; i++) {
  for (const [name, launch] of [['files', built], ['bundle', bundled]]) {
    for (const pipelined of [false, true]) {
      const m = await handshake(launch, pipelined);
      if (i < 0) continue;
      const key = `${name}, init ${pipelined ? 'at once' : 'on hello'}`;
      add(`${key}: hello`, m.hello);
      add(`${key}: ready`, m.ready);
    }
  }
  const t0 = performance.now();
  const c = forkLike(bare, fixture('bare-ready.cjs'));
  await firstMessage(c);
  if (i >= 0) add('fork.ready', performance.now() - t0);
  await killGroup(c);
}
const width = Math.max(...[...series.keys()].map((k) => k.length));
for (const [name, xs] of series) {
  const s = summarize(xs);
  console.log(`${name.padEnd(width)}  median ${s.median.toFixed(2).padStart(7)} ms  min ${s.min.toFixed(2).padStart(7)}`);
}
