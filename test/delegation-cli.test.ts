/**
 * Cancellation through the CLI with delegated subtrees: the first SIGINT or SIGTERM cancels
 * gracefully (plugins see ctx.signal, then killGraceMs, then SIGKILL; every subtask ends
 * cancelled with CANCELLED), a second one kills at once; exit 130 / 143; no process left.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, processesMentioning } from './cli-helpers.js';
import { tempProject, writeFiles } from './helpers.js';
import { waitUntil } from './sandbox-helpers.js';

const DELEGATOR = path.join(import.meta.dirname, 'fixtures/plugins/delegator.mjs');

interface Started {
  readonly dir: string;
  readonly markers: string;
  readonly child: ReturnType<typeof spawn>;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

/** `qicoord run --json` of a parent delegating two children of `leafMode`, until both children started. */
async function startRun(leafMode: string, killGraceMs = 500): Promise<Started> {
  const dir = tempProject('qicoord-deleg-cli-');
  const markers = path.join(dir, 'markers');
  mkdirSync(markers);
  chmodSync(markers, 0o777);
  writeFiles(dir, {
    '.qicoordrc.json': JSON.stringify({ plugins: [DELEGATOR], sandbox: { workspaceRoot: path.join(dir, 'ws'), writePaths: [markers], killGraceMs }, logging: { level: 'error' }, journal: false }),
    'task.json': JSON.stringify({
      task: { id: 'deleg', subtasks: [{ id: 'p', agent: 'delegator', inputs: [{ name: 'mode', value: 'fanout' }, { name: 'values', value: [1, 2] }, { name: 'leafMode', value: leafMode }, { name: 'markerDir', value: markers }], expectedOutputs: [{ name: 'sum' }] }] },
      strategy: { type: 'hybrid', maxConcurrentAgents: 2 },
    }),
  });
  const child = spawn(process.execPath, [CLI, 'run', 'task.json', '--json'], { cwd: dir, env: { PATH: process.env['PATH'] ?? '' } });
  const started: Started = { dir, markers, child, stdout: '', stderr: '', exited: new Promise((resolve) => child.on('exit', resolve)) };
  child.stdout!.on('data', (d: Buffer) => (started.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (started.stderr += d.toString()));
  expect(await waitUntil(() => /subtask p~0 started/.test(started.stderr) && /subtask p~1 started/.test(started.stderr), 20_000)).toBe(true);
  return started;
}

function statuses(stdout: string): Record<string, { status: string; code: string | undefined }> {
  const doc = JSON.parse(stdout) as { value: { aggregatedResult: { subtasks: { id: string; status: string; error?: { code: string } }[] } } };
  return Object.fromEntries(doc.value.aggregatedResult.subtasks.map((s) => [s.id, { status: s.status, code: s.error?.code }]));
}

describe('qicoord run, cancelled by a signal, with delegated subtasks', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`the first ${signal} cancels the whole tree gracefully: children see ctx.signal, all end cancelled, exit ${code}, nothing left`, async () => {
      const run = await startRun('wait-abort');
      run.child.kill(signal);
      expect(await run.exited).toBe(code);
      for (const v of [1, 2]) expect(readFileSync(path.join(run.markers, `aborted-${v}`), 'utf8')).toBe(`aborted p~${v - 1}`);
      const s = statuses(run.stdout);
      for (const id of ['p', 'p~0', 'p~1']) expect(s[id]).toEqual({ status: 'cancelled', code: 'CANCELLED' });
      expect(await waitUntil(() => processesMentioning(path.join(run.dir, 'ws')).length === 0, 5000)).toBe(true);
    });
  }

  it('children ignoring the abort are killed after killGraceMs', async () => {
    const run = await startRun('ignore-abort', 300);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
    const s = statuses(run.stdout);
    for (const id of ['p~0', 'p~1']) expect(s[id]!.status).toBe('cancelled');
    expect(await waitUntil(() => processesMentioning(path.join(run.dir, 'ws')).length === 0, 5000)).toBe(true);
  });

  it('a second SIGINT kills at once, without waiting for the grace', async () => {
    const run = await startRun('ignore-abort', 60_000);
    run.child.kill('SIGINT');
    expect(await waitUntil(() => run.stderr.includes('interrupted (SIGINT)'), 10_000)).toBe(true);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(existsSync(path.join(run.markers, 'aborted-1'))).toBe(false);
    expect(await waitUntil(() => processesMentioning(path.join(run.dir, 'ws')).length === 0, 5000)).toBe(true);
  });
});

describe('examples/code-review', () => {
  it('a planner lists a folder and delegates one reviewer per file, then merges their reviews', async () => {
    const { qicoord, ROOT } = await import('./cli-helpers.js');
    const { readdirSync } = await import('node:fs');
    const r = await qicoord(['run', 'examples/code-review/task.yaml', '--json', '--no-journal']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { value: { aggregatedResult: { outputs: Record<string, { report: { files: number; totals: { lines: number } } }>; subtasks: { id: string; parentId?: string; depth?: number }[] } } };
    const expected = readdirSync(path.join(ROOT, 'src/execution')).filter((f) => f.endsWith('.ts')).length;
    expect(doc.value.aggregatedResult.outputs['review']!.report.files).toBe(expected);
    expect(doc.value.aggregatedResult.outputs['review']!.report.totals.lines).toBeGreaterThan(1000);
    const children = doc.value.aggregatedResult.subtasks.filter((s) => s.parentId === 'review');
    expect(children).toHaveLength(expected);
    expect(children.every((s) => s.depth === 1)).toBe(true);
  });
});
