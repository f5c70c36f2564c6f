/**
 * Baseline for the monitoring cost: a bare poller in its own process. It forks 8 idle children
 * and calls pidusage on their 8 pids every `intervalMs`, measuring its own CPU time over
 * windows; then stops polling and measures the same windows idle.
 */
import { fork } from 'node:child_process';
import pidusage from 'pidusage';

const [script, intervalMs = '100', windowMs = '2000', windows = '3'] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function cpuPercent(ms) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
}

const children = Array.from({ length: 8 }, () => fork(script, { env: {}, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }));
await Promise.all(children.map((c) => new Promise((resolve) => c.once('message', resolve))));
const pids = children.map((c) => c.pid);
let busy = false;
const timer = setInterval(() => {
  if (busy) return;
  busy = true;
  pidusage(pids).finally(() => (busy = false));
}, Number(intervalMs));
await sleep(500);
const polling = [];
for (let w = 0; w < Number(windows); w++) polling.push(await cpuPercent(Number(windowMs)));
clearInterval(timer);
for (const c of children) c.kill('SIGKILL');
await sleep(500);
const idle = [];
for (let w = 0; w < Number(windows); w++) idle.push(await cpuPercent(Number(windowMs)));
process.send({ polling, idle }, () => process.disconnect());
