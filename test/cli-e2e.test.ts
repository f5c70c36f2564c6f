import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { processesMentioning, qicoord } from './cli-helpers.js';
import { tempProject, writeFiles } from './helpers.js';
import { waitUntil } from './sandbox-helpers.js';

const execFileAsync = promisify(execFile);
const root = path.join(import.meta.dirname, '..');
const cli = path.join(root, 'dist/src/cli/main.js');
const fixtures = path.join(import.meta.dirname, 'fixtures/cli');


/** The shape `run --json` promises (DESIGN A8). */
const RunJson = z.object({
  tag: z.literal('success'),
  value: z.object({
    coordinationId: z.string(),
    success: z.boolean(),
    results: z.array(z.object({ agentId: z.string(), success: z.boolean(), executionTime: z.number(), tasksCompleted: z.number() })),
    aggregatedResult: z.object({
      outputs: z.record(z.string(), z.record(z.string(), z.unknown())),
      subtasks: z.array(
        z.object({
          id: z.string(),
          agentId: z.string().nullable(),
          status: z.enum(['succeeded', 'failed', 'skipped', 'cancelled']),
          attempts: z.number(),
          error: z.object({ code: z.string(), category: z.string(), message: z.string() }).optional(),
          startedAt: z.string().nullable(),
          endedAt: z.string().nullable(),
          resourceUsage: z.object({ memoryMB: z.number(), toolCalls: z.number() }).nullable(),
        }),
      ),
    }),
    metrics: z.object({ totalAgents: z.number(), coordinationEfficiency: z.number(), communicationOverhead: z.number() }),
    executionTime: z.number(),
  }),
});

/** Processes whose command line mentions `marker` (an agent's grants name its workspace root). */

describe('qicoord run (examples, as a user runs them)', () => {
  it('repo-audit: the README main command, with --json matching the documented shape', async () => {
    const r = await qicoord(['run', 'examples/repo-audit/task.yaml', '--json']);
    expect(r.code).toBe(0);
    const doc = RunJson.parse(JSON.parse(r.stdout));
    expect(doc.value.success).toBe(true);
    const report = doc.value.aggregatedResult.outputs['report']!['report'] as { totals: { folders: number; files: number } };
    expect(report.totals.folders).toBe(5);
    expect(report.totals.files).toBeGreaterThan(10);
    expect(doc.value.aggregatedResult.subtasks.every((s) => s.status === 'succeeded')).toBe(true);
  });

  it('pipeline: barrier, decision, aggregation and pub/sub across processes', async () => {
    const r = await qicoord(['run', 'examples/pipeline/task.yaml', '--json']);
    expect(r.code).toBe(0);
    const doc = RunJson.parse(JSON.parse(r.stdout));
    const report = doc.value.aggregatedResult.outputs['report']!['report'] as Record<string, unknown>;
    expect(report).toMatchObject({ method: 'mean', total: 13, observedBy: ['a', 'b'] });
  });

  it('containment: every hostile plugin is stopped with its error, and nothing escaped', async () => {
    rmSync('/tmp/qicoord-containment-pwned', { force: true });
    const r = await qicoord(['run', 'examples/containment/task.yaml', '--json']);
    expect(r.code).toBe(1);
    const doc = RunJson.parse(JSON.parse(r.stdout));
    const codes = Object.fromEntries(doc.value.aggregatedResult.subtasks.map((s) => [s.id, s.error?.code]));
    expect(codes).toEqual({
      'fs-escape': 'FS_DENIED',
      'fs-write': 'FS_DENIED',
      network: 'NET_DENIED',
      process: 'PROCESS_DENIED',
      'memory-bomb': 'MEMORY_LIMIT',
      'busy-loop': 'TIME_LIMIT',
    });
    expect(doc.value.aggregatedResult.outputs).toEqual({});
    expect(existsSync('/tmp/qicoord-containment-pwned')).toBe(false);
  });

  it('human output: a summary on stdout, one plain line per event on stderr without a TTY', async () => {
    const r = await qicoord(['run', 'examples/pipeline/task.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('succeeded: 4/4 subtasks');
    expect(r.stdout).toContain('outputs of report:');
    expect(r.stderr).toMatch(/^\[\s*\d+\.\ds\] subtask worker-a started on /m);
    expect(r.stderr).toMatch(/run completed in/);
    expect(r.stderr).not.toContain('\x1b[');
  });

  it('--trace writes Chrome trace events: a track per agent, a slice per subtask', async () => {
    const out = path.join(tempProject(), 'trace.json');
    const r = await qicoord(['run', 'examples/pipeline/task.yaml', '--json', '--trace', out]);
    expect(r.code).toBe(0);
    const trace = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: { name: string; ph: string; cat: string; dur?: number }[] };
    const slices = trace.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'subtask').map((e) => e.name).sort();
    expect(slices).toEqual(['monitor', 'report', 'worker-a', 'worker-b']);
    expect(trace.traceEvents.filter((e) => e.name === 'thread_name')).toHaveLength(3);
    expect(trace.traceEvents.some((e) => e.cat === 'sync' && (e.dur ?? 0) > 0)).toBe(true);
  });

  it('strategy flags override the file; a bad one exits 2 naming the field', async () => {
    const r = await qicoord(['run', 'examples/pipeline/task.yaml', '--strategy', 'chaotic']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('strategy.type');
    const ok = await qicoord(['run', 'examples/pipeline/task.yaml', '--strategy', 'parallel', '--max-agents', '3', '--failure', 'graceful-degradation', '--json']);
    expect(ok.code).toBe(0);
  });

  it('an invalid task file exits 2 before anything runs', async () => {
    const r = await qicoord(['run', 'test/fixtures/tasks/cycle.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a → b → c → a');
  });
});

describe('qicoord init, plan, doctor, plugins', () => {
  it('init in an empty folder gives a config, plugin and task that run completes', async () => {
    const dir = tempProject('qicoord-init-');
    rmSync(path.join(dir, 'package.json'));
    const init = await qicoord(['init'], dir);
    expect(init.code).toBe(0);
    for (const f of ['.qicoordrc.yaml', 'plugins/word-counter.mjs', 'task.yaml']) expect(existsSync(path.join(dir, f))).toBe(true);
    const run = await qicoord(['run', 'task.yaml', '--json'], dir);
    expect(run.code).toBe(0);
    expect(RunJson.parse(JSON.parse(run.stdout)).value.aggregatedResult.outputs['total']).toEqual({ total: 15, parts: 2 });
    const again = await qicoord(['init'], dir);
    expect(again.code).toBe(2);
  });

  it('plan prints the lanes; --json is the distribution', async () => {
    const text = await qicoord(['plan', 'examples/repo-audit/task.yaml']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('lane-1');
    const json = await qicoord(['plan', 'examples/repo-audit/task.yaml', '--json']);
    const doc = JSON.parse(json.stdout) as { tag: string; value: { agentAllocations: unknown[]; subtasks: unknown[]; fallbackPlan: unknown } };
    expect(doc.tag).toBe('success');
    expect(doc.value.subtasks).toHaveLength(6);
    expect((await qicoord(['plan', 'test/fixtures/tasks/many-problems.yaml'])).code).toBe(2);
  });

  it('a strategy plugin from the config is selectable by name', async () => {
    const dir = tempProject();
    writeFiles(dir, {
      '.qicoordrc.json': JSON.stringify({ plugins: [path.join(fixtures, 'fifo-strategy.mjs'), path.join(root, 'examples/pipeline/plugins/stage.mjs')] }),
    });
    const task = path.join(root, 'examples/pipeline/task.yaml');
    const r = await qicoord(['run', task, '--config', path.join(dir, '.qicoordrc.json'), '--strategy', 'fifo', '--json'], dir);
    expect(r.code).toBe(0);
    expect(RunJson.parse(JSON.parse(r.stdout)).value.success).toBe(true);
    const unknown = await qicoord(['plan', task, '--config', path.join(dir, '.qicoordrc.json'), '--strategy', 'lifo'], dir);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("strategy.type: unknown strategy 'lifo' (did you mean 'fifo'?); registered:");
    expect(unknown.stderr).toContain('fifo');
  });

  it('doctor reports the host and exits 0 when the default level can be honoured', async () => {
    const r = await qicoord(['doctor', '--json']);
    const doc = JSON.parse(r.stdout) as { tag: string; value?: { checks: { name: string; ok: boolean }[]; defaultIsolationHonoured: boolean } };
    expect(r.code).toBe(doc.tag === 'success' ? 0 : 3);
    if (doc.value !== undefined) {
      expect(doc.value.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['node', 'permission model', 'pidusage', 'cgroups', 'config']));
    }
  });

  it('doctor exits 3 when the default isolation level cannot be honoured', async () => {
    const dir = tempProject();
    writeFiles(dir, { '.qicoordrc.json': JSON.stringify({ defaults: { isolationLevel: 'sandbox' }, sandbox: { networkIsolation: 'off' } }) });
    const r = await qicoord(['doctor'], dir);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('CANNOT be honoured');
  });

  it('plugins lists built-ins, and reports a syntax error, a missing execute and a duplicate name with their paths', async () => {
    const dir = tempProject();
    const listed = [...['bad-syntax.mjs', 'no-execute.mjs', 'duplicate-basic.mjs', 'slow.mjs'].map((f) => path.join(fixtures, f)), path.join(root, 'test/fixtures/plugins/reentrant.mjs')];
    writeFiles(dir, { '.qicoordrc.json': JSON.stringify({ plugins: listed }) });
    const r = await qicoord(['plugins', '--json'], dir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { value: { agents: { name: string; origin: string; concurrency: number }[]; strategies: { name: string }[]; problems: { path: string; error: { message: string } }[] } };
    expect(doc.value.agents.map((a) => a.name)).toEqual(expect.arrayContaining(['basic', 'decision-capable', 'specialized', 'slow', 'reentrant']));
    expect(doc.value.agents.find((a) => a.name === 'reentrant')?.concurrency).toBe(4);
    expect(doc.value.agents.find((a) => a.name === 'basic')?.concurrency).toBe(1);
    expect(doc.value.strategies.map((s) => s.name).sort()).toEqual(['adaptive', 'hybrid', 'parallel', 'sequential']);
    const problem = (file: string): string => doc.value.problems.find((p) => p.path.endsWith(file))?.error.message ?? '';
    expect(problem('bad-syntax.mjs')).toMatch(/failed to load/);
    expect(problem('no-execute.mjs')).toMatch(/execute must be a function/);
    expect(problem('duplicate-basic.mjs')).toMatch(/already taken by .*basic\.js/);
    const text = await qicoord(['plugins'], dir);
    expect(text.stdout).toContain('bad-syntax.mjs');
  });
});

describe('qicoord run, interactive', () => {
  it('draws a live table on a pseudo-terminal and leaves it clean', async () => {
    const cmd = `${process.execPath} ${cli} run examples/pipeline/task.yaml`;
    const { stdout } = await execFileAsync('script', ['-q', '-e', '-c', cmd, '/dev/null'], { cwd: root, env: { PATH: process.env['PATH'] ?? '', TERM: 'xterm' } });
    expect(stdout).toContain('\x1b[?25l');
    // How many frames a run gets depends on how long it takes (one every 100 ms, and the last at
    // its end); the redraw in place is test/cli-render.test.ts's, with a fake clock.
    expect(stdout).toContain('AGENT');
    expect(stdout).toContain('overall');
    expect(stdout).toContain('\x1b[?25h');
    expect(stdout).toContain('succeeded: 4/4 subtasks');
  });

  it('Ctrl-C cancels: exit 130, partial result printed, no agent left running', async () => {
    const dir = tempProject('qicoord-sigint-');
    writeFiles(dir, {
      '.qicoordrc.json': JSON.stringify({ plugins: [path.join(fixtures, 'slow.mjs')], sandbox: { workspaceRoot: path.join(dir, 'ws') }, logging: { level: 'error' } }),
      'task.json': JSON.stringify({
        task: {
          id: 'slow',
          subtasks: ['a', 'b', 'c', 'd'].map((id) => ({ id, agent: 'slow', inputs: [{ name: 'ms', value: 20_000 }], expectedOutputs: [{ name: 'done' }] })),
        },
        strategy: { type: 'parallel', maxConcurrentAgents: 2, failureHandling: 'graceful-degradation' },
      }),
    });
    const child = spawn(process.execPath, [cli, 'run', 'task.json'], { cwd: dir, env: { PATH: process.env['PATH'] ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await waitUntil(() => /subtask [ab] started/.test(stderr), 20_000)).toBe(true);
    expect(processesMentioning(path.join(dir, 'ws')).length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    expect(stdout).toContain('FAILED');
    expect(stdout).toMatch(/cancelled/);
    expect(await waitUntil(() => processesMentioning(path.join(dir, 'ws')).length === 0, 5000)).toBe(true);
  });
});

describe('embedding', () => {
  it('examples/embed runs a task from a host program, consuming events, and closes', async () => {
    const { stdout } = await execFileAsync(process.execPath, [path.join(root, 'examples/embed/host.mjs')], { cwd: root, env: { PATH: process.env['PATH'] ?? '' } });
    expect(stdout).toContain('result: hello world');
    expect(stdout).toMatch(/success: true, agents: \d+, events: \{.*"subtask-end":3/);
  });
});
