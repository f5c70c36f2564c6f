/**
 * BullMQ and ioredis are loaded only when the bullmq executor or the worker command is used: in
 * the built code, nothing imports them statically, and the one dynamic import is the remote
 * executor's loader.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = path.join(import.meta.dirname, '../../dist/src');

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? jsFiles(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : []));
}

describe('lazy loading of the remote executor', () => {
  it('no built module imports bullmq or ioredis statically; only src/remote/redis.js imports them, dynamically', () => {
    const staticImports: string[] = [];
    const dynamicImports: string[] = [];
    for (const file of jsFiles(DIST)) {
      const text = readFileSync(file, 'utf8');
      if (/(?:^|\n)\s*(?:import|export)[^;]*?from\s*['"](?:bullmq|ioredis)['"]/.test(text)) staticImports.push(path.relative(DIST, file));
      if (/import\(\s*['"](?:bullmq|ioredis)['"]\s*\)/.test(text)) dynamicImports.push(path.relative(DIST, file));
    }
    expect(staticImports).toEqual([]);
    expect(dynamicImports).toEqual(['remote/redis.js']);
  });
});

describe('lazy loading, measured in a fresh process over the built package', () => {
  it('a local run loads neither; a bullmq coordinator loads them at its first agent start, not before', () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'qicoord-lazy-'));
    try {
      const hook = path.join(import.meta.dirname, '../fixtures/loaded-packages-hook.mjs');
      const fixture = path.join(import.meta.dirname, 'fixtures/loaded-remote.mjs');
      const out = execFileSync(process.execPath, ['--import', hook, fixture, path.join(DIST, '..'), scratch], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env['PATH'] ?? '' } });
      const steps = JSON.parse(out) as Record<string, { loaded: string[]; success?: boolean; code?: string }>;
      expect(steps['localRun']).toEqual({ loaded: [], success: true });
      expect(steps['remoteCreated']).toEqual({ loaded: [] });
      expect(steps['remoteStart']).toEqual({ loaded: ['bullmq', 'ioredis'], code: 'WORKER_LOST' });
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
