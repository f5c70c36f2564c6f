/**
 * Agent churn through `qicoord run` as a user runs it (default config: warm pool on): a task of
 * `--agents` subtasks, each of its own security profile, in a temporary project. Prints the
 * wall time of the whole command and fresh agents per second (DESIGN B4: ≥ 60/s, "through the
 * CLI as through the API").
 *
 *   node bench/scaling/cli-churn.mjs [--agents=300] [--concurrency=4]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { flags, round } from './common.mjs';

const o = flags({ agents: 300, concurrency: 4 });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'qicoord-cli-churn-'));
writeFileSync(
  path.join(dir, '.qicoordrc.json'),
  JSON.stringify({ plugins: [path.join(root, 'bench/fixtures/echo.mjs')], logging: { level: 'error' }, resources: { maxTotalMemory: 1_000_000, maxConcurrentAllocations: 64 }, sandbox: { workspaceRoot: path.join(dir, 'ws') } }),
);
const subtasks = Array.from({ length: o.agents }, (_, i) => ({
  id: `s${i}`,
  agent: 'bench-echo',
  inputs: [{ name: 'value', value: i }],
  expectedOutputs: [{ name: `o${i}` }],
  estimatedDuration: 100,
  executionConstraints: { maxMemory: 128 + i },
}));
writeFileSync(path.join(dir, 'task.json'), JSON.stringify({ task: { id: 'churn', subtasks }, strategy: { type: 'parallel', maxConcurrentAgents: o.concurrency, failureHandling: 'graceful-degradation' } }));
const t0 = performance.now();
let stdout;
try {
  stdout = execFileSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'run', 'task.json', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28, encoding: 'utf8' });
} catch (e) {
  stdout = e.stdout; // exit 1: the run ended with failed subtasks
}
const seconds = (performance.now() - t0) / 1000;
rmSync(dir, { recursive: true, force: true });
const result = JSON.parse(stdout);
const reports = result.tag === 'success' ? result.value.aggregatedResult.subtasks : [];
const agents = new Set(reports.map((s) => s.agentId).filter((a) => a !== null)).size;
const report = { agents: o.agents, concurrency: o.concurrency, result: result.tag, succeeded: reports.filter((s) => s.status === 'succeeded').length, agentsUsed: agents, seconds: round(seconds, 2), freshAgentsPerSecond: round(agents / seconds) };
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
