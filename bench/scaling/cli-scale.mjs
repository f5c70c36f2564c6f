/**
 * Cost growth through `qicoord run` as a user runs it: N trivial subtasks, independent (`wide`)
 * or each fed by the one before (`chain`), on the default strategy with 4 agents. Prints the wall
 * time of the whole command and the time per subtask (DESIGN B4: per-subtask time at 100,000
 * ≤ 1.2 × that at 10,000, wide and chained).
 *
 *   node bench/scaling/cli-scale.mjs [--sizes=10000,50000,100000] [--shapes=wide,chain] [--strategy=hybrid] [--agents=4] [--journal=on|off]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags, round } from './common.mjs';

const o = flags({ sizes: '10000,50000,100000', shapes: 'wide,chain', strategy: 'hybrid', agents: 4, journal: 'on' });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function task(n, shape) {
  // In a chain, subtask i's input `o{i-1}` is its predecessor's output: one DAG edge per subtask.
  const subtasks = Array.from({ length: n }, (_, i) => ({
    id: `s${i}`,
    agent: 'bench-echo',
    inputs: shape === 'chain' && i > 0 ? [{ name: `o${i - 1}`, value: null, required: true }] : [{ name: 'value', value: i }],
    expectedOutputs: [{ name: `o${i}` }],
    estimatedDuration: 10,
  }));
  return { task: { id: `scale-${shape}-${n}`, subtasks }, strategy: { type: o.strategy, maxConcurrentAgents: o.agents, failureHandling: 'graceful-degradation' } };
}

const rows = [];
for (const shape of String(o.shapes).split(',')) {
  for (const n of String(o.sizes).split(',').map(Number)) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qicoord-cli-scale-'));
    writeFileSync(
      path.join(dir, '.qicoordrc.json'),
      JSON.stringify({ plugins: [path.join(root, 'bench/fixtures/echo.mjs')], logging: { level: 'error' }, resources: { maxTotalMemory: 1_000_000 }, sandbox: { workspaceRoot: path.join(dir, 'ws') } }),
    );
    writeFileSync(path.join(dir, 'task.json'), JSON.stringify(task(n, shape)));
    const t0 = performance.now();
    let ok = true;
    try {
      execFileSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'run', 'task.json', '--json', ...(o.journal === 'off' ? ['--no-journal'] : [])], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
    } catch {
      ok = false;
    }
    const ms = performance.now() - t0;
    rmSync(dir, { recursive: true, force: true });
    rows.push({ shape, subtasks: n, ok, seconds: round(ms / 1000, 2), usPerSubtask: round((ms * 1000) / n) });
    process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
  }
}
process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
