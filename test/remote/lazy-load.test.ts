/**
 * BullMQ and ioredis are loaded only when the bullmq executor or the worker command is used: in
 * the built code, nothing imports them statically, and the one dynamic import is the remote
 * executor's loader.
 */
import { readdirSync, readFileSync } from 'node:fs';
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
