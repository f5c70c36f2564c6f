/**
 * Durable runs through the CLI with real processes: the coordinator is SIGKILLed mid-run and the
 * run resumed; side-effect markers written by the plugin show what ran how often.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempProject, writeFiles } from './helpers.js';
import { waitUntil } from './sandbox-helpers.js';

const CLI = path.join(import.meta.dirname, '../dist/src/cli/main.js');

const MARKER_PLUGIN = `import fs from 'node:fs';
import path from 'node:path';
export default {
  name: 'marker', type: 'specialized', capabilities: ['mark'],
  async execute(subtask, ctx) {
    const dir = ctx.grants.write.find((p) => p.endsWith('markers'));
    fs.appendFileSync(path.join(dir, subtask.id), 'start ' + subtask.attempt + '\\n');
    await new Promise((r) => setTimeout(r, Number(ctx.inputs.ms ?? 0)));
    fs.appendFileSync(path.join(dir, subtask.id), 'done ' + subtask.attempt + '\\n');
    const upstream = ctx.inputs.value ?? ctx.inputs.value2 ?? 0;
    const v = (Array.isArray(upstream) ? upstream[0] : upstream) + 1;
    return Object.fromEntries(subtask.expectedOutputs.map((o) => [o.name, v]));
  },
};
`;

function project(slowMs: number): string {
  const dir = tempProject('qicoord-durable-');
  writeFiles(dir, {
    'marker.mjs': MARKER_PLUGIN,
    '.qicoordrc.json': JSON.stringify({ plugins: ['./marker.mjs'], sandbox: { writePaths: ['./markers'], workspaceRoot: path.join(dir, 'ws') }, logging: { level: 'error' } }),
    'task.json': JSON.stringify({
      task: {
        id: 'chain',
        subtasks: [
          { id: 'a', agent: 'marker', inputs: [{ name: 'ms', value: 1 }], expectedOutputs: [{ name: 'value' }] },
          { id: 'b', agent: 'marker', inputs: [{ name: 'ms', value: slowMs }, { name: 'value' }], expectedOutputs: [{ name: 'value2' }] },
          { id: 'c', agent: 'marker', inputs: [{ name: 'value2' }], expectedOutputs: [{ name: 'value3' }] },
        ],
      },
      strategy: { type: 'hybrid', maxConcurrentAgents: 2 },
    }),
  });
  mkdirSync(path.join(dir, 'markers'));
  chmodSync(path.join(dir, 'markers'), 0o777);
  return dir;
}

function cli(args: string[], cwd: string): { child: ChildProcess; done: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const marks = (dir: string, id: string): string[] => {
  const file = path.join(dir, 'markers', id);
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
};
const runIdOf = (dir: string): string => readdirSync(path.join(dir, '.qicoord', 'runs'))[0]!;

/** Starts `qicoord run`, SIGKILLs it once subtask b has started; returns the run id. */
async function crashDuringB(dir: string): Promise<string> {
  const run = cli(['run', 'task.json'], dir);
  expect(await waitUntil(() => marks(dir, 'b').includes('start 1'), 20_000)).toBe(true);
  run.child.kill('SIGKILL');
  await run.done;
  return runIdOf(dir);
}

describe('durable runs', () => {
  it('a SIGKILLed coordinator is resumed: finished work is not redone, the interrupted subtask runs again, outputs are right', async () => {
    const dir = project(1500);
    const runId = await crashDuringB(dir);
    const listed = cli(['runs', '--json'], dir);
    const runs = JSON.parse((await listed.done).stdout) as { value: { runId: string; status: string }[] };
    expect(runs.value).toEqual([expect.objectContaining({ runId, status: 'interrupted' })]);
    const resumed = await cli(['resume', runId, '--json'], dir).done;
    expect(resumed.code).toBe(0);
    const doc = JSON.parse(resumed.stdout) as { value: { coordinationId: string; aggregatedResult: { outputs: Record<string, Record<string, number>> } } };
    expect(doc.value.coordinationId).toBe(runId);
    expect(doc.value.aggregatedResult.outputs).toEqual({ a: { value: 1 }, b: { value2: 2 }, c: { value3: 3 } });
    // Exactly once for what had succeeded; the interrupted attempt ran again as attempt 2.
    expect(marks(dir, 'a')).toEqual(['start 1', 'done 1']);
    expect(marks(dir, 'b')).toEqual(['start 1', 'start 2', 'done 2']);
    expect(marks(dir, 'c')).toEqual(['start 1', 'done 1']);
    // Resuming a finished run prints its stored result and runs nothing.
    const again = await cli(['resume', runId, '--json'], dir).done;
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as typeof doc).value.aggregatedResult.outputs).toEqual(doc.value.aggregatedResult.outputs);
    expect(marks(dir, 'c')).toEqual(['start 1', 'done 1']);
  });

  it('two resumes of one run at once: exactly one proceeds, the other names it (exit 2)', async () => {
    const dir = project(1500);
    const runId = await crashDuringB(dir);
    const [one, two] = await Promise.all([cli(['resume', runId], dir).done, cli(['resume', runId], dir).done]);
    const codes = [one.code, two.code].sort();
    expect(codes).toEqual([0, 2]);
    const refused = one.code === 2 ? one : two;
    expect(refused.stderr).toMatch(/error \[RUN_LOCKED\] run \S+ is being run by process \d+/);
    expect(marks(dir, 'b').filter((l) => l.startsWith('done'))).toHaveLength(1);
  });

  it('a resume with a changed config is refused (exit 2, INVALID_JOURNAL); an unknown run id too', async () => {
    const dir = project(1500);
    const runId = await crashDuringB(dir);
    const rc = JSON.parse(readFileSync(path.join(dir, '.qicoordrc.json'), 'utf8')) as { sandbox: Record<string, unknown> };
    writeFileSync(path.join(dir, '.qicoordrc.json'), JSON.stringify({ ...rc, sandbox: { ...rc.sandbox, killGraceMs: 900 } }));
    const changed = await cli(['resume', runId], dir).done;
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/error \[INVALID_JOURNAL\] run \S+ was started with another config/);
    const unknown = await cli(['resume', 'no-such-run'], dir).done;
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/error \[NOT_FOUND\] no journaled run 'no-such-run'/);
    // Nothing says it is resuming a run that is not there.
    expect(unknown.stderr + changed.stderr).not.toContain('resuming run');
  });

  it('Ctrl-C: exit 130 with the exact resume command; the resume completes the run', async () => {
    const dir = project(1500);
    const run = cli(['run', 'task.json'], dir);
    expect(await waitUntil(() => marks(dir, 'b').includes('start 1'), 20_000)).toBe(true);
    run.child.kill('SIGINT');
    const stopped = await run.done;
    expect(stopped.code).toBe(130);
    const runId = runIdOf(dir);
    expect(stopped.stderr).toContain(`resume it with: qicoord resume ${runId}`);
    const resumed = await cli(['resume', runId], dir).done;
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toContain(`resuming run ${runId}`);
    expect(marks(dir, 'a')).toEqual(['start 1', 'done 1']);
    expect(marks(dir, 'c')).toEqual(['start 1', 'done 1']);
  });

  it('--no-journal leaves no journal behind', async () => {
    const dir = project(1);
    const r = await cli(['run', 'task.json', '--no-journal'], dir).done;
    expect(r.code).toBe(0);
    expect(existsSync(path.join(dir, '.qicoord', 'runs'))).toBe(false);
  });
});
