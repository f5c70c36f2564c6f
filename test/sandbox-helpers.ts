import { mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig, type Config, type ConfigInput } from '../src/index.js';
import { createRootLogger } from '../src/logging/logger.js';
import type { SubAgent } from '../src/subagent/agent.js';
import { SubAgentFactory } from '../src/subagent/factory.js';
import type { SubAgentSpecificationInput } from '../src/schemas/spec.js';
import type { SubTask } from '../src/schemas/task.js';
import { ok } from './helpers.js';

export const HOSTILE = path.join(import.meta.dirname, 'fixtures/plugins/hostile.mjs');

export function testConfig(overrides: ConfigInput = {}): Config {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-ws-')));
  const input = { logging: { level: 'silent' }, pool: { enabled: false }, ...overrides, sandbox: { workspaceRoot: root, ...overrides.sandbox } };
  return ok(resolveConfig(input, { filepath: null, dir: process.cwd() }));
}

export function makeFactory(config: Config = testConfig()): SubAgentFactory {
  return new SubAgentFactory({ parentAgentId: 'test-coordinator', config, logger: createRootLogger({ level: 'silent' }) });
}

type Level = 'sandbox' | 'restricted' | 'monitored';

export interface SpecOptions {
  isolationLevel?: Level;
  fs?: 'read-only' | 'restricted' | 'full';
  net?: 'none' | 'restricted' | 'full';
  hosts?: string[];
  memoryMB?: number;
  timeMs?: number;
  tools?: string[];
  prohibited?: string[];
  maxToolCalls?: number;
  maxFileOperations?: number;
  maxConcurrentOperations?: number;
  plugin?: string;
}

export function spec(o: SpecOptions = {}): SubAgentSpecificationInput {
  return {
    agentType: 'specialized',
    capabilities: ['attack'],
    plugin: o.plugin ?? HOSTILE,
    resourceLimits: {
      maxMemoryMB: o.memoryMB ?? 256,
      maxExecutionTimeMs: o.timeMs ?? 20_000,
      maxConcurrentOperations: o.maxConcurrentOperations ?? 4,
      maxToolCalls: o.maxToolCalls ?? 100,
      allowedNetworkHosts: o.hosts ?? [],
      maxFileOperations: o.maxFileOperations ?? 100,
    },
    securityConstraints: {
      sandboxEnabled: true,
      allowedTools: o.tools ?? ['read', 'write', 'list'],
      prohibitedOperations: o.prohibited ?? [],
      networkAccessLevel: o.net ?? 'none',
      fileSystemAccess: o.fs ?? 'restricted',
      resourceMonitoring: true,
    },
    isolationLevel: o.isolationLevel ?? 'restricted',
    parentAgentId: 'test-coordinator',
  };
}

/** A subtask of one declared output (`output`), with an optional deadline (maxDuration, ms). */
export function liveSubtask(id: string, output = 'result', maxDuration?: number): SubTask {
  return {
    id,
    parentTaskId: 'test',
    description: id,
    agentRequirements: { capabilities: [], minimumVersion: '0.10.0', resourceNeeds: [], securityLevel: 'high' as const, concurrencySupport: false },
    inputs: [],
    expectedOutputs: [{ name: output, type: 'any', description: '' }],
    executionConstraints: maxDuration === undefined ? {} : { maxDuration },
    successCriteria: [],
    estimatedDuration: 1,
  };
}

/**
 * Real agents for one test at a time: `spawn` starts one of a plugin (one factory per test, made
 * with `config` by its first use); `cleanup` (the afterEach) closes the factory and waits until
 * none of their processes is left, true when none is.
 */
export function agentsUnderTest(): {
  spawn(plugin: string, capability: string, config?: Config): Promise<SubAgent>;
  factory(config?: Config): SubAgentFactory;
  cleanup(): Promise<boolean>;
} {
  let factory: SubAgentFactory | undefined;
  let pids: number[] = [];
  const made = (config?: Config): SubAgentFactory => (factory ??= makeFactory(config));
  return {
    factory: made,
    async spawn(plugin, capability, config) {
      const agent = ok(await made(config).spawn({ ...spec({ plugin }), capabilities: [capability] }));
      pids.push(agent.pid);
      return agent;
    },
    async cleanup() {
      await factory?.close();
      factory = undefined;
      const gone = await waitUntil(() => pids.every((p) => !pidAlive(p)));
      pids = [];
      return gone;
    },
  };
}

/** A subtask for the hostile plugin, and its inputs. */
export function attack(name: string, inputs: Record<string, unknown> = {}, extra: { maxDuration?: number } = {}): { subtask: SubTask; inputs: Record<string, unknown> } {
  const subtask: SubTask = {
    id: `attack-${name}`,
    parentTaskId: 'test',
    description: name,
    agentRequirements: { capabilities: ['attack'], minimumVersion: '0.10.0', resourceNeeds: [], securityLevel: 'high' as const, concurrencySupport: false },
    inputs: [],
    expectedOutputs: [{ name: 'data', type: 'any', description: '' }],
    executionConstraints: extra.maxDuration === undefined ? {} : { maxDuration: extra.maxDuration },
    successCriteria: [],
    estimatedDuration: 100,
  };
  return { subtask, inputs: { attack: name, ...inputs } };
}

/** A TCP server on 127.0.0.1 that counts connections. */
export async function countingServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  // A client that keeps its end open (the coordinator's fetch) must not hold close() forever.
  const close = (): Promise<void> => new Promise((r) => {
    server.close(() => r());
    for (const s of sockets) s.destroy();
  });
  return { port: address.port, connections: () => count, close };
}

/** True while a pid runs (a zombie waiting to be reaped by init counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function waitUntil(check: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}
