import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = path.join(import.meta.dirname, '../dist/src/cli/main.js');
const fixture = (name: string): string => path.join(import.meta.dirname, 'fixtures/tasks', name);

async function qicoord(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

describe('qicoord CLI (built)', () => {
  it('validate: a good file exits 0', async () => {
    const r = await qicoord('validate', fixture('good.yaml'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("valid — task 'audit', 3 subtasks");
  });

  it('validate: lists every problem on stderr and exits 2', async () => {
    const r = await qicoord('validate', fixture('many-problems.yaml'));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => /^(task|strategy)\./.test(l))).toHaveLength(5);
  });

  it('validate --json prints exactly one JSON Result document', async () => {
    const bad = await qicoord('validate', fixture('cycle.yaml'), '--json');
    expect(bad.code).toBe(2);
    const doc = JSON.parse(bad.stdout) as { tag: string; error: { code: string; category: string } };
    expect(doc.tag).toBe('failure');
    expect(doc.error).toMatchObject({ code: 'INVALID_TASK', category: 'VALIDATION' });
    const good = await qicoord('validate', fixture('good.json'), '--json');
    expect(JSON.parse(good.stdout)).toMatchObject({ tag: 'success', value: { valid: true, taskId: 'pipeline', subtasks: 2 } });
  });

  it('a missing file exits 2', async () => {
    const r = await qicoord('validate', '/nonexistent.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('FILE_NOT_FOUND');
  });

  it('help and usage errors', async () => {
    expect((await qicoord('--help')).code).toBe(0);
    expect((await qicoord('validate', '--help')).stdout).toContain('Usage: qicoord validate');
    expect((await qicoord('frobnicate')).code).toBe(2);
    expect((await qicoord('validate')).code).toBe(2);
    expect((await qicoord('validate', 'x', '--nope')).code).toBe(2);
  });

  it('the README example validates', async () => {
    const r = await qicoord('validate', path.join(import.meta.dirname, '../examples/repo-audit/task.yaml'));
    expect(r.code).toBe(0);
  });
});
