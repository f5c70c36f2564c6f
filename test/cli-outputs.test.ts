import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { qicoord } from './cli-helpers.js';
import { tempProject, writeFiles } from './helpers.js';

const plugin = path.join(import.meta.dirname, 'fixtures/cli/big-output.mjs');
const MB = 1024 * 1024;

/** A project whose task has one subtask returning `bytes` characters (output `blob`) and one small subtask. */
function project(bytes: number, sandbox: Record<string, unknown> = {}): string {
  const dir = tempProject('qicoord-outputs-');
  writeFiles(dir, {
    '.qicoordrc.json': JSON.stringify({ plugins: [plugin], sandbox: { workspaceRoot: path.join(dir, 'ws'), ...sandbox }, logging: { level: 'error' } }),
    'task.json': JSON.stringify({
      task: {
        id: 'outputs',
        subtasks: [
          { id: 'big.one', agent: 'big-output', inputs: [{ name: 'bytes', value: bytes }], expectedOutputs: [{ name: 'blob' }, { name: 'note' }] },
          { id: 'tiny', agent: 'big-output', inputs: [{ name: 'bytes', value: 3 }], expectedOutputs: [{ name: 'little' }] },
        ],
      },
    }),
  });
  return dir;
}

/** Resolves a `#/a/b` JSON Reference (RFC 6901) in `doc`. */
function resolveRef(doc: unknown, ref: string): unknown {
  const parts = ref.replace(/^#\//, '').split('/').map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  return parts.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], doc);
}

interface Printed {
  value: {
    results: { result?: Record<string, unknown> }[];
    aggregatedResult: { outputs: Record<string, Record<string, unknown>>; combinedResults: unknown[] };
  };
}

describe('run --json prints each output value once', () => {
  it('a 3 MB output appears once in stdout; results[].result and combinedResults refer to it', async () => {
    const bytes = 3 * MB;
    const r = await qicoord(['run', 'task.json', '--json'], project(bytes, { maxMessageBytes: 8 * MB }), 64 * MB);
    expect(r.code).toBe(0);
    // Once, not three times: the document is the value plus well under one more megabyte.
    expect(r.stdout.length).toBeGreaterThan(bytes);
    expect(r.stdout.length).toBeLessThan(bytes + MB);
    const doc = JSON.parse(r.stdout) as Printed;
    const { outputs, combinedResults } = doc.value.aggregatedResult;
    expect(outputs['big.one']!['blob']).toHaveLength(bytes);
    expect(outputs['tiny']).toEqual({ little: 'xxx' });
    const byId = Object.assign({}, ...doc.value.results.map((a) => a.result ?? {})) as Record<string, { $ref: string }>;
    expect(byId['big.one']).toEqual({ $ref: '#/aggregatedResult/outputs/big.one' });
    expect(resolveRef(doc.value, byId['big.one']!.$ref)).toBe(outputs['big.one']);
    expect(resolveRef(doc.value, byId['tiny']!.$ref)).toEqual({ little: 'xxx' });
    expect(combinedResults).toHaveLength(2);
    expect(combinedResults.map((c) => resolveRef(doc.value, (c as { $ref: string }).$ref))).toEqual(Object.values(outputs));
  });
});

describe('an output over the message cap', () => {
  it('fails its subtask INVALID_MESSAGE naming the subtask, the output and sandbox.maxMessageBytes', async () => {
    const r = await qicoord(['run', 'task.json', '--json'], project(2 * MB, { maxMessageBytes: MB }));
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { value: { success: boolean; aggregatedResult: { subtasks: { id: string; status: string; error?: { code: string; message: string; context: Record<string, unknown> } }[] } } };
    expect(doc.value.success).toBe(false);
    const big = doc.value.aggregatedResult.subtasks.find((s) => s.id === 'big.one')!;
    expect(big.status).toBe('failed');
    expect(big.error?.code).toBe('INVALID_MESSAGE');
    expect(big.error?.message).toContain("subtask 'big.one'");
    expect(big.error?.message).toContain("output 'blob'");
    expect(big.error?.message).toContain('sandbox.maxMessageBytes');
    expect(big.error?.context).toMatchObject({ subtaskId: 'big.one', output: 'blob', configKey: 'sandbox.maxMessageBytes', maxMessageBytes: MB });
  });
});

describe('outputsRef', () => {
  it('escapes ~ and / as RFC 6901 says', async () => {
    const { outputsRef } = await import('../src/cli/output.js');
    expect(outputsRef('a~b/c')).toEqual({ $ref: '#/aggregatedResult/outputs/a~0b~1c' });
  });
});
