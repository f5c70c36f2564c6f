import type { ToolPolicy } from '../src/tools/types.js';

/** A tool policy for tests: restricted file access to workspace `ws` (read and write), no network, commands run unwrapped. */
export function toolPolicy(ws: string, overrides: Partial<ToolPolicy> = {}): ToolPolicy {
  return {
    agentId: 'agent-1',
    allowedTools: ['read', 'write', 'list', 'fetch', 'execute'],
    prohibitedOperations: [],
    fileSystemAccess: 'restricted',
    workspace: ws,
    readRoots: [ws],
    writeRoots: [ws],
    network: { level: 'none', allowedHosts: [] },
    maxToolCalls: 100,
    maxFileOperations: 100,
    maxConcurrentOperations: 4,
    execute: { wrap: (command, args) => ({ command, args: [...args] }), env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, defaultTimeoutMs: 10_000 },
    ...overrides,
  };
}
