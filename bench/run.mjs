/**
 * `npm run bench`: every benchmark group in turn, each measuring its own baselines in the same
 * run. Progress on stderr; the table on stdout; every figure in bench/results.json.
 *
 *   node bench/run.mjs [--quick] [--only=spawn,dispatch,...] [--out=FILE] [--write]
 *
 * Figures go to a file in the temp folder unless `--out=FILE` names one or `--write` asks for the
 * tracked `bench/results.json` (which the README's performance table comes from).
 *
 * --quick: fewer repetitions (a smoke run, figures less stable). --only: run some groups
 * (`coordination` takes its barrier ratios from `dispatch`).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from './lib/env.mjs';
import { Figures } from './lib/figures.mjs';
import { renderTable } from './lib/table.mjs';

const GROUPS = ['spawn', 'isolation', 'journal', 'delegation', 'dispatch', 'throughput', 'makespan', 'mapreduce', 'reentrant', 'plan', 'coordination', 'memory', 'enforce', 'remote'];

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const out = args.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? (args.includes('--write') ? path.join(BENCH_DIR, 'results.json') : path.join(os.tmpdir(), 'qicoord-bench-results.json'));
const unknown = (only ?? []).filter((g) => !GROUPS.includes(g));
if (unknown.length > 0) {
  process.stderr.write(`unknown group(s) ${unknown.join(', ')}; groups: ${GROUPS.join(', ')}\n`);
  process.exit(2);
}

const started = performance.now();
const loadavg = { start: os.loadavg().map((x) => Number(x.toFixed(2))) };
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`.padStart(7);
const figures = new Figures();
const records = {};
const ctx = {
  figures,
  quick,
  progress: (message) => process.stderr.write(`[bench ${elapsed()}] ${message}\n`),
  reps: (full, short) => (quick ? short : full),
  record: (key, value) => (records[key] = value),
};

for (const group of GROUPS) {
  if (only !== undefined && !only.includes(group)) continue;
  ctx.progress(`== ${group} (load average ${os.loadavg()[0].toFixed(2)})`);
  const { run } = await import(`./cases/${group}.mjs`);
  await run(ctx);
  loadavg[group] = Number(os.loadavg()[0].toFixed(2));
}

const results = {
  node: process.version,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  platform: `${os.platform()} ${os.release()}`,
  date: new Date().toISOString(),
  quick,
  // 1-minute load average at the start and after each group: other work on the machine shows here.
  loadavg,
  wallSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
  figures: figures.list(),
  details: records,
};
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(
  `qicoord bench — node ${results.node}, ${results.cpus} CPUs (${results.cpuModel}), ${results.wallSeconds} s${quick ? ', --quick' : ''}\n` +
    'ratio = median / baseline median (makespans: / ideal; throughput: ours / peer, higher is better). ' +
    'Baselines use the agents\' wrappers, node flags and empty env. Makespans include agent start and shutdown.\n\n' +
    `${renderTable(results.figures)}\n\nwritten ${path.relative(process.cwd(), out) || out}\n`,
);
ctx.progress('done');
