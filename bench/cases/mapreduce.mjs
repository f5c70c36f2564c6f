/**
 * Real work with heavy dependencies: a map-reduce that transpiles TypeScript sources (this
 * repo's own src/, the first FILES of them) with the TypeScript compiler in CHUNKS map subtasks
 * on 2 agents, then sums the results, run as a user runs it (`qicoord run` in a fresh process:
 * plugin probe, agent starts and every agent's own load of the compiler included), against one
 * plain Node process doing the same work. And what the plugin's probe costs: a host that keeps
 * its coordinator (probes cached by plugin file) runs the task again without it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, fixture, ok, scratchDir } from '../lib/env.mjs';
import { strategy } from '../lib/coordinator.mjs';

// As the workload the goal names: ~120 source files in 8 chunks.
const FILES = 120;
const CHUNKS = 8;
const ROOT = path.dirname(BENCH_DIR);
const CLI = path.join(ROOT, 'dist/src/cli/main.js');

function sourceFiles() {
  const out = [];
  const walk = (dir) => {
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.name.endsWith('.ts') && !d.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(path.join(ROOT, 'src'));
  return out.slice(0, FILES);
}

function task(files) {
  const chunks = Array.from({ length: CHUNKS }, (_, c) => files.filter((_, i) => i % CHUNKS === c));
  return {
    id: 'transpile',
    subtasks: [
      ...chunks.map((chunk, c) => ({
        id: `map${c}`,
        agent: 'bench-transpile',
        inputs: [{ name: 'sources', value: chunk.map((f) => readFileSync(f, 'utf8')) }],
        expectedOutputs: [{ name: `chars${c}` }],
        estimatedDuration: 500,
      })),
      { id: 'reduce', agent: 'bench-transpile', inputs: chunks.map((_, c) => ({ name: `chars${c}` })), expectedOutputs: [{ name: 'chars' }], estimatedDuration: 10 },
    ],
  };
}

const wall = (fn) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};

export async function run({ figures, progress, reps }) {
  const files = sourceFiles();
  const dir = scratchDir('mapreduce-');
  const config = configInput({ plugins: [fixture('transpile.mjs')] });
  // A first run in a project: the plugin is probed in the process (no probes kept: `probeCache: false`).
  writeFileSync(path.join(dir, '.qicoordrc.json'), JSON.stringify({ ...config, pool: { enabled: false }, probeCache: false }));
  const taskFile = path.join(dir, 'task.json');
  writeFileSync(taskFile, JSON.stringify({ task: task(files), strategy: strategy('parallel', 2) }));
  // Any later run in a project: qicoord's commands keep plugin probes in .qicoord/probes.json
  // (the default), filled by a first run.
  const cachedDir = scratchDir('mapreduce-cached-');
  writeFileSync(path.join(cachedDir, '.qicoordrc.json'), JSON.stringify({ ...config, pool: { enabled: false } }));
  writeFileSync(path.join(cachedDir, 'task.json'), readFileSync(taskFile));
  const env = { PATH: process.env.PATH ?? '' };
  const qicoordRun = (cwd) => () => {
    const out = spawnSync(process.execPath, [CLI, 'run', 'task.json', '--no-journal'], { cwd, env, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`qicoord run failed (${out.status}): ${out.stderr.slice(-2000)}`);
  };
  qicoordRun(cachedDir)();
  const plain = [];
  const cli = [];
  const cached = [];
  progress(`map-reduce: transpile ${files.length} files in ${CHUNKS} chunks, qicoord run on 2 agents vs one plain process, interleaved`);
  for (let r = 0; r < reps(5, 2); r++) {
    plain.push(wall(() => execFileSync(process.execPath, [fixture('transpile-plain.mjs'), ...files], { env, stdio: ['ignore', 'pipe', 'inherit'] })));
    cli.push(wall(qicoordRun(dir)));
    cached.push(wall(qicoordRun(cachedDir)));
  }
  figures.add('mapreduce.plain', 'ms', plain, { note: `one plain node process: load the TypeScript compiler, transpile ${files.length} files (wall time of the process)` });
  figures.add('mapreduce.cli.2agents', 'ms', cli, {
    baseline: 'mapreduce.plain',
    goal: { op: '<=', value: 1, of: 'ratio' },
    note: `qicoord run of ${CHUNKS} map subtasks + a reduce on 2 agents, parallel, a project's first run (wall time of the process: plugin probe, agent starts, each agent loading the compiler)`,
  });
  figures.add('mapreduce.cli.2agents.probeCached', 'ms', cached, {
    baseline: 'mapreduce.plain',
    goal: { op: '<=', value: 1, of: 'ratio' },
    note: "the same run again (qicoord's default probeCache: the plugin probes of the first run read from .qicoord/probes.json, no probe child)",
  });

  // The probe's share: createCoordinator probes the plugin; one host then runs the task again with it cached.
  const t0 = performance.now();
  const coordinator = ok(await createCoordinator({ cwd: dir, agentId: 'bench', config, journal: false }), 'createCoordinator');
  const probed = performance.now() - t0;
  const again = [];
  for (let r = 0; r < reps(3, 1); r++) {
    const t0 = performance.now();
    const plan = ok(await coordinator.distributeTask(task(files), strategy('parallel', 2)), 'distributeTask');
    const result = ok(await coordinator.executeDistributedTask(plan), 'executeDistributedTask');
    if (!result.success) throw new Error(`map-reduce failed: ${result.error?.message}`);
    again.push(performance.now() - t0);
  }
  await coordinator.close();
  figures.add('mapreduce.probe', 'ms', [probed], { note: "createCoordinator, most of it the plugin's probe (a sandboxed child imports the plugin, and with it the compiler, to read its name and capabilities)" });
  figures.add('mapreduce.host.again', 'ms', again, {
    baseline: 'mapreduce.plain',
    note: 'the same task in a host that keeps its coordinator: probe cached, agents started and the compiler loaded again per run (no warm pool)',
  });
}
