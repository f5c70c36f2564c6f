/**
 * `qicoord`'s commands keep agent plugin probes in `.qicoord/probes.json` under the working
 * directory: a later run routes by what is kept there (shown by planting a well-formed entry
 * that claims other capabilities: the next plan believes it), unless the file lies where agents
 * may write (`sandbox.writePaths`): then it is not used.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { qicoord } from './cli-helpers.js';
import { tempProject, writeFiles } from './helpers.js';

const PLUGIN = `export default { name: 'counter', type: 'basic', capabilities: ['count'], execute: (s, ctx) => ({ n: 1 }) };\n`;

function project(writePaths: string[]): string {
  const dir = tempProject('qicoord-probes-');
  writeFiles(dir, {
    'counter.mjs': PLUGIN,
    '.qicoordrc.json': JSON.stringify({ plugins: ['./counter.mjs'], sandbox: { writePaths, workspaceRoot: path.join(dir, 'ws') }, logging: { level: 'info' } }),
    'task.json': JSON.stringify({
      task: { id: 'count', subtasks: [{ id: 'a', agentRequirements: { capabilities: ['count'] }, expectedOutputs: [{ name: 'n' }] }] },
      strategy: { type: 'parallel', maxConcurrentAgents: 1 },
    }),
  });
  mkdirSync(path.join(dir, 'out'));
  return dir;
}

/** Rewrites every kept probe to claim other capabilities (a well-formed entry, as an agent with write access could plant). */
function plant(dir: string): void {
  const file = path.join(dir, '.qicoord', 'probes.json');
  const store = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: Record<string, { capabilities: string[] }> };
  expect(Object.keys(store.entries)).not.toHaveLength(0);
  for (const entry of Object.values(store.entries)) entry.capabilities = ['planted'];
  writeFileSync(file, JSON.stringify(store));
}

describe('plugin probes kept by qicoord commands', () => {
  it('a run keeps them in .qicoord/probes.json, and the next run routes by what is kept there', async () => {
    const dir = project(['./out']);
    const first = await qicoord(['run', 'task.json', '--no-journal'], dir);
    expect(first.code, first.stderr).toBe(0);
    plant(dir);
    // The kept entry is believed: no plugin offers 'count' any more, so the plan fails.
    const second = await qicoord(['plan', 'task.json'], dir);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('count');
  });

  it('where agents may write, they are not kept (said at level info)', async () => {
    const dir = project(['.']);
    const first = await qicoord(['run', 'task.json', '--no-journal'], dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('plugin probes are not kept in');
    expect(existsSync(path.join(dir, '.qicoord', 'probes.json'))).toBe(false);
  });
});
