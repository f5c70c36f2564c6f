/**
 * The agents' entry is the sandbox runtime bundled into one file by scripts/bundle-sandbox.mjs
 * (run by `npm run build`, as before any test): it loads nothing but Node built-ins, and the
 * bundler refuses a runtime that would load anything else.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runtimePaths } from '../src/subagent/package-root.js';
import { ok } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUNDLER = path.join(ROOT, 'scripts/bundle-sandbox.mjs');

/** Runs the bundler in a folder holding `files` under dist/cjs. */
function bundle(files: Record<string, string>): { status: number | null; stderr: string; out: string | undefined } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qicoord-bundle-'));
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(dir, 'dist/cjs', name)), { recursive: true });
      writeFileSync(path.join(dir, 'dist/cjs', name), text);
    }
    const r = spawnSync(process.execPath, [BUNDLER], { cwd: dir, encoding: 'utf8' });
    let out: string | undefined;
    try {
      out = readFileSync(path.join(dir, 'dist/cjs/sandbox/agent.cjs'), 'utf8');
    } catch {
      out = undefined;
    }
    return { status: r.status, stderr: r.stderr, out };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the bundled sandbox runtime', () => {
  it('is the agents’ entry and requires only node: built-ins', () => {
    const entry = ok(runtimePaths()).bootstrap;
    expect(path.basename(entry)).toBe('agent.cjs');
    const text = readFileSync(entry, 'utf8');
    const required = [...text.matchAll(/\brequire\((['"])([^'"]+)\1\)/g)].map((m) => m[2]);
    expect(required.length).toBeGreaterThan(0);
    expect(required.filter((r) => !r!.startsWith('node:'))).toEqual([]);
    for (const part of ['sandbox/bootstrap.js', 'sandbox/channel.js', 'sandbox/net-guard.js', 'sandbox/runtime.js']) expect(text).toContain(`${part}\n`);
  });

  it('runs each module once, in require order, and shares one instance between requirers', () => {
    const r = bundle({
      'sandbox/bootstrap.js': "const a = require('./a.js'); const b = require('../src/b.js'); process.stdout.write(`${a.n} ${b.n} ${a.b === b}`);",
      'sandbox/a.js': "exports.b = require('../src/b.js'); exports.n = 'a';",
      'src/b.js': "globalThis.count = (globalThis.count ?? 0) + 1; exports.n = `b${globalThis.count}`;",
    });
    expect(r.status).toBe(0);
    const run = spawnSync(process.execPath, ['-e', r.out!], { encoding: 'utf8' });
    expect(run.stdout).toBe('a b1 true');
  });

  it('refuses a runtime that requires a package or a file outside dist/cjs', () => {
    for (const [specifier, says] of [
      ['zod', "may require only node: built-ins and its own files, not 'zod'"],
      ['../../vendor/x.js', 'lies outside dist/cjs'],
    ] as const) {
      const r = bundle({ 'sandbox/bootstrap.js': `require('${specifier}');` });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(says);
      expect(r.out).toBeUndefined();
    }
  });
});
