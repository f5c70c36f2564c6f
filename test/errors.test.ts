import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, qiError } from '../src/index.js';

/** DESIGN.md A4: the codes acceptance tests look for, with their categories. */
const CONTRACT: Record<string, string> = {
  INVALID_TASK: 'VALIDATION',
  INVALID_SPEC: 'VALIDATION',
  INVALID_CONFIG: 'CONFIGURATION',
  INVALID_MESSAGE: 'VALIDATION',
  MEMORY_LIMIT: 'RESOURCE',
  TOOL_BUDGET: 'RESOURCE',
  FILE_OP_BUDGET: 'RESOURCE',
  INSUFFICIENT_RESOURCES: 'RESOURCE',
  TIME_LIMIT: 'TIMEOUT',
  SYNC_TIMEOUT: 'TIMEOUT',
  FS_DENIED: 'AUTHORIZATION',
  NET_DENIED: 'AUTHORIZATION',
  TOOL_DENIED: 'AUTHORIZATION',
  PROCESS_DENIED: 'AUTHORIZATION',
  AGENT_ERROR: 'BUSINESS',
  AGENT_CRASHED: 'SYSTEM',
  SANDBOX_UNAVAILABLE: 'SYSTEM',
  NOT_DISTRIBUTABLE: 'BUSINESS',
};

describe('error catalogue', () => {
  it.each(Object.entries(CONTRACT))('%s is %s', (code, category) => {
    const entry = ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE];
    expect(entry.category).toBe(category);
    const e = qiError(code as keyof typeof ERROR_CATALOGUE, 'what happened', { agentId: 'a1' });
    expect(e).toEqual({ code, message: 'what happened', category, context: { agentId: 'a1' } });
  });

  it('every entry says when it happens and how to fix it', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(entry.when.length, code).toBeGreaterThan(10);
      expect(entry.fix.length, code).toBeGreaterThan(5);
    }
  });

  it('errors are plain data that survive JSON (IPC) unchanged', () => {
    const e = qiError('MEMORY_LIMIT', 'agent a1 used 300 MB of 256 MB', { peakMB: 300 });
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });
});

describe('README error table', () => {
  it('lists exactly the catalogue, with the same categories', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| `([A-Z_]+)` \| ([A-Z]+) \|/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(ERROR_CATALOGUE).map(([c, e]) => [c, e.category])));
  });
});
