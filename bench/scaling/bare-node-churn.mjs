/**
 * The floor under agent churn: how many bare `node -e 0` processes this machine starts and runs to
 * their exit per second, `--at-once` of them at a time (no qicoord, no sandbox). Every fresh agent
 * is one Node process, so `churn.mjs` cannot beat this.
 *
 *   node bench/scaling/bare-node-churn.mjs [--processes=120] [--at-once=2]
 */
import { spawn } from 'node:child_process';
import { flags, round } from './common.mjs';

const o = flags({ processes: 120, 'at-once': 2 });
const t0 = performance.now();
let started = 0;
let ended = 0;
await new Promise((resolve, reject) => {
  const next = () => {
    if (started >= o.processes) return;
    started++;
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`node -e 0 exited with ${code}`));
      else if (++ended === o.processes) resolve();
      else next();
    });
  };
  for (let i = 0; i < o['at-once']; i++) next();
});
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(`${JSON.stringify({ processes: o.processes, atOnce: o['at-once'], seconds: round(seconds, 2), perSecond: round(o.processes / seconds) })}\n`);
