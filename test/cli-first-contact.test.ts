import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { qicoord } from './cli-helpers.js';
import { tempProject, writeFiles } from './helpers.js';
import { waitUntil } from './sandbox-helpers.js';

/** Issue 15, one test per item: the exit code and the first line of what the user reads. */
const root = path.join(import.meta.dirname, '..');
const cli = path.join(root, 'dist/src/cli/main.js');
const fixtures = path.join(import.meta.dirname, 'fixtures/cli');
const version = (JSON.parse(await (await import('node:fs/promises')).readFile(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;


/** The first line of the error report (log lines on stderr come before it). */
const errorLine = (stderr: string): string => stderr.split('\n').find((l) => l.startsWith('error ')) ?? '';

const counter = `export default { name: 'counter', type: 'basic', capabilities: ['count'], async execute() { return { n: 1 }; } };\n`;
const oneSubtask = (extra: Record<string, unknown> = {}, strategy: Record<string, unknown> = {}): string =>
  JSON.stringify({ task: { id: 't', subtasks: [{ id: 'only', agent: 'counter', expectedOutputs: [{ name: 'n' }], ...extra }] }, strategy: { type: 'sequential', ...strategy } });

function project(config: Record<string, unknown>, files: Record<string, string> = {}): string {
  const dir = tempProject('qicoord-first-');
  writeFiles(dir, { 'counter.mjs': counter, 'task.json': oneSubtask(), ...files, '.qicoordrc.json': JSON.stringify({ plugins: ['./counter.mjs'], logging: { level: 'error' }, sandbox: { workspaceRoot: path.join(dir, 'ws') }, ...config }) });
  return dir;
}

describe('2. a probe that cannot start reports its cause', () => {
  it('a plugin that throws at import: exit 2, the import error first', async () => {
    const dir = project({}, { 'counter.mjs': "throw new Error('broken at import');\n" });
    const r = await qicoord(['run', 'task.json'], dir);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toMatch(/^error \[PLUGIN_INVALID\] agent plugin .*counter\.mjs failed to load: broken at import$/);
    expect(r.stderr).not.toContain('which no registered agent plugin provides');
    expect(r.stderr).not.toMatch(/^\{"level"/m);
  });

  it('an isolation level the host cannot give: exit 3, SANDBOX_UNAVAILABLE naming the fix', async () => {
    const dir = project({ defaults: { isolationLevel: 'sandbox' }, sandbox: { networkIsolation: 'off' } });
    const r = await qicoord(['run', 'task.json'], dir);
    expect(r.code).toBe(3);
    expect(errorLine(r.stderr)).toMatch(/^error \[SANDBOX_UNAVAILABLE\] isolationLevel 'sandbox' needs OS namespaces/);
  });

  it('a granted folder holding a symlink out: exit 3, the link named', async () => {
    const dir = project({});
    mkdirSync(path.join(dir, 'shared'));
    symlinkSync('/etc', path.join(dir, 'shared', 'escape'));
    writeFiles(dir, { '.qicoordrc.json': JSON.stringify({ plugins: ['./counter.mjs'], logging: { level: 'error' }, sandbox: { workspaceRoot: path.join(dir, 'ws'), readPaths: ['./shared'] } }) });
    const r = await qicoord(['run', 'task.json'], dir);
    expect(r.code).toBe(3);
    expect(errorLine(r.stderr)).toMatch(/^error \[FS_DENIED\] granted path .*escape is a symlink to \/etc/);
  });

  it('a workspace root that cannot be created: exit 3, the folder named', async () => {
    const dir = project({});
    writeFiles(dir, { 'not-a-folder': 'x', '.qicoordrc.json': JSON.stringify({ plugins: ['./counter.mjs'], logging: { level: 'error' }, sandbox: { workspaceRoot: path.join(dir, 'not-a-folder', 'ws') } }) });
    const r = await qicoord(['run', 'task.json'], dir);
    expect(r.code).toBe(3);
    // The code is the workspace module's (SANDBOX_UNAVAILABLE today); the exit code and the cause are the contract here.
    expect(errorLine(r.stderr)).toMatch(/^error \[[A-Z_]+\] .*not-a-folder/);
  });
});

describe('4. hosts that lack a layer', () => {
  const lacking = { defaults: { isolationLevel: 'sandbox' }, sandbox: { networkIsolation: 'off', onUnavailable: 'downgrade' } };

  it('a downgrade is loud: a warning on stderr and downgrades in the --json result', async () => {
    const dir = project(lacking);
    writeFiles(dir, { '.qicoordrc.json': JSON.stringify({ plugins: ['./counter.mjs'], logging: { level: 'error' }, ...lacking, sandbox: { ...lacking.sandbox, workspaceRoot: path.join(dir, 'ws') } }) });
    const r = await qicoord(['run', 'task.json', '--json'], dir);
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toMatch(/^warning: lane-1 \(counter\) runs at isolation 'monitored', not 'sandbox' \(sandbox\.onUnavailable: downgrade\)/);
    const doc = JSON.parse(r.stdout) as { tag: string; value: { downgrades: { downgradedFrom: string; isolationLevel: string }[] } };
    expect(doc.value.downgrades).toEqual([expect.objectContaining({ lane: 'lane-1', downgradedFrom: 'sandbox', isolationLevel: 'monitored' })]);
  });

  it('doctor lists layers per level and exits 3 (also with --json) when the configured level cannot be met, without repeating a setting', async () => {
    const dir = project(lacking);
    const text = await qicoord(['doctor'], dir);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^✗ sandbox \(configured\)\s+cannot be met: /m);
    // networkIsolation 'off' leaves no OS namespaces: restricted cannot be met either.
    expect(text.stdout).toMatch(/^✗ restricted\s+cannot be met: /m);
    expect(text.stdout).toMatch(/^✓ monitored\s+env-scrubbed, /m);
    expect(text.stdout).not.toContain('set sandbox.onUnavailable: downgrade');
    expect(text.stdout).toContain("agents would run at 'monitored'");
    const json = await qicoord(['doctor', '--json'], dir);
    expect(json.code).toBe(3);
    const doc = JSON.parse(json.stdout) as { tag: string; error: { code: string; message: string; context: { levels: Record<string, { ok: boolean; layers: string[] }> } } };
    expect(doc.tag).toBe('failure');
    expect(doc.error.code).toBe('SANDBOX_UNAVAILABLE');
    expect(doc.error.message).not.toContain('set sandbox.onUnavailable: downgrade');
    expect(doc.error.context.levels['restricted']!.ok).toBe(false);
    expect(doc.error.context.levels['monitored']!.layers).toContain('pidusage-watchdog');
  });
});

describe('5. --trace to an unwritable path', () => {
  it('is refused before the run: exit 2, the path and the fix, no stack', async () => {
    const dir = project({});
    const r = await qicoord(['run', 'task.json', '--trace', path.join(dir, 'missing', 'trace.json')], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/^error \[FILE_NOT_FOUND\] --trace .*missing\/trace\.json cannot be written: folder .*missing does not exist\. Fix: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('6. SIGTERM', () => {
  it('exits 143 and reports the interrupted subtasks CANCELLED, with a footer that adds up', async () => {
    const dir = tempProject('qicoord-sigterm-');
    writeFiles(dir, {
      '.qicoordrc.json': JSON.stringify({ plugins: [path.join(fixtures, 'slow.mjs')], sandbox: { workspaceRoot: path.join(dir, 'ws') }, logging: { level: 'error' } }),
      'task.json': JSON.stringify({
        task: { id: 'slow', subtasks: ['a', 'b', 'c'].map((id) => ({ id, agent: 'slow', inputs: [{ name: 'ms', value: 20_000 }], expectedOutputs: [{ name: `done-${id}` }] })) },
        strategy: { type: 'parallel', maxConcurrentAgents: 2, failureHandling: 'graceful-degradation' },
      }),
    });
    const child = spawn(process.execPath, [cli, 'run', 'task.json'], { cwd: dir, env: { PATH: process.env['PATH'] ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await waitUntil(() => /subtask [ab] started/.test(stderr), 20_000)).toBe(true);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(143);
    expect(stderr).toMatch(/^interrupted \(SIGTERM\): cancelling/m);
    expect(stdout.split('\n')[0]).toBe(`FAILED: 0/3 subtasks in ${/in (\d+\.\d)s/.exec(stdout)![1]}s (0 ok, 0 failed, 3 cancelled, 0 skipped)`);
    expect(stdout).not.toContain('AGENT_CRASHED');
    expect(stdout).toMatch(/agents \d \(0 failed\)/);
  });
});

describe('8. validate and plan reject what run rejects', () => {
  it("a misspelt strategy: exit 2 with did you mean 'parallel'", async () => {
    const dir = project({}, { 'task.json': oneSubtask({}, { type: 'parallell' }) });
    for (const command of ['validate', 'plan']) {
      const r = await qicoord([command, 'task.json'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("strategy.type: unknown strategy 'parallell' (did you mean 'parallel'?)");
    }
  });

  it('an unknown agent: exit 2 naming the registered agents', async () => {
    const dir = project({}, { 'task.json': oneSubtask({ agent: 'nobody' }) });
    const r = await qicoord(['validate', 'task.json'], dir);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toBe('error [INVALID_TASK] no agent plugin for 1 subtask(s):');
    expect(r.stderr).toMatch(/needs agent plugin 'nobody', which no registered agent plugin provides \(basic, decision-capable, specialized, counter\)/);
  });

  it('maxMemory beyond resources.maxTotalMemory: exit 2, INSUFFICIENT_RESOURCES explained, in validate and plan', async () => {
    const dir = project({ resources: { maxTotalMemory: 4096 } }, { 'task.json': oneSubtask({ executionConstraints: { maxMemory: 999999 } }) });
    for (const command of ['validate', 'plan']) {
      const r = await qicoord([command, 'task.json'], dir);
      expect(r.code).toBe(2);
      expect(errorLine(r.stderr)).toMatch(/^error \[INSUFFICIENT_RESOURCES\] subtask 'only' needs 999999 MB, more than resources\.maxTotalMemory \(4096 MB\).*Fix: lower task\.subtasks\[0\]\.executionConstraints\.maxMemory/);
    }
  });
});

describe('10. habits of a CLI', () => {
  it('--version and -V print the version', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await qicoord([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it("'help run' and 'run --help' print run's help", async () => {
    for (const args of [['help', 'run'], ['run', '--help']]) {
      const r = await qicoord(args);
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^Usage: qicoord run FILE/);
    }
  });

  it('a missing plugin package: a clear message, no Require stack', async () => {
    const dir = project({ plugins: ['qicoord-plugin-that-is-not-installed'] }, { 'task.json': oneSubtask({ agent: 'nothing' }) });
    const r = await qicoord(['run', 'task.json'], dir);
    expect(r.code).toBe(2);
    expect(errorLine(r.stderr)).toBe(`error [FILE_NOT_FOUND] plugin 'qicoord-plugin-that-is-not-installed' (in the config's plugins) cannot be found: it is not installed in ${dir} or a parent folder. Fix: npm install qicoord-plugin-that-is-not-installed, or list the plugin by its path`);
    expect(r.stderr).not.toContain('Require stack');
  });

  it('human log lines by default, pino JSON with --log-format json; the stack only with --verbose', async () => {
    const dir = project({ logging: { level: 'error' } }, { 'counter.mjs': "throw new Error('broken at import');\n" });
    const human = await qicoord(['run', 'task.json'], dir);
    expect(human.stderr).toMatch(/^qicoord error: a plugin could not be registered: agent plugin .* failed to load: broken at import/m);
    expect(human.stderr).not.toMatch(/^\{/m);
    expect(human.stderr).toContain('(run with --verbose for the stack)');
    const json = await qicoord(['run', 'task.json', '--log-format', 'json'], dir);
    expect(JSON.parse(json.stderr.split('\n')[0]!)).toMatchObject({ level: 50, code: 'PLUGIN_INVALID' });
    const verbose = await qicoord(['run', 'task.json', '--verbose'], dir);
    expect(verbose.stderr).toMatch(/Error: broken at import\n\s+at /);
  });
});
