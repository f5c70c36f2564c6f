import { existsSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubAgent } from '../src/subagent/agent.js';
import type { SubAgentFactory } from '../src/subagent/factory.js';
import { err, ok, tempProject } from './helpers.js';
import { attack, countingServer, makeFactory, pidAlive, spec, testConfig, waitUntil, type SpecOptions } from './sandbox-helpers.js';

let factories: SubAgentFactory[] = [];
let pids: number[] = [];

afterEach(async () => {
  await Promise.all(factories.map((f) => f.close()));
  factories = [];
  // No process is left behind.
  expect(await waitUntil(() => pids.every((p) => !pidAlive(p)))).toBe(true);
  pids = [];
});

async function agentWith(options: SpecOptions = {}, factory = makeFactory()): Promise<SubAgent> {
  factories.push(factory);
  const agent = ok(await factory.spawn(spec(options)));
  pids.push(agent.pid);
  return agent;
}

async function run(agent: SubAgent, name: string, inputs: Record<string, unknown> = {}, extra: { maxDuration?: number } = {}) {
  const a = attack(name, inputs, extra);
  return agent.execute(a.subtask, a.inputs);
}

function secretFile(): string {
  const dir = tempProject('qicoord-secret-');
  const file = path.join(dir, 'secret.txt');
  writeFileSync(file, 'TOP-SECRET');
  return file;
}

describe('SubAgent lifecycle', () => {
  it('spawns a ready agent in a real process and runs a subtask', async () => {
    const agent = await agentWith();
    expect(agent.status).toBe('ready');
    expect(pidAlive(agent.pid)).toBe(true);
    expect(agent.instance.plugin).toMatchObject({ name: 'hostile', type: 'specialized' });
    const outcome = ok(await run(agent, 'echo', { value: 42 }));
    expect(outcome.outputs).toEqual({ data: 42 });
    expect(agent.instance.performanceMetrics.tasksCompleted).toBe(1);
  });

  it('reports a plugin throw as BUSINESS/AGENT_ERROR with message and stack', async () => {
    const agent = await agentWith();
    const e = err(await run(agent, 'throw'));
    expect(e.category).toBe('BUSINESS');
    expect(e.code).toBe('AGENT_ERROR');
    expect(e.message).toContain('plugin failure on purpose');
    expect(String(e.context['stack'])).toContain('hostile.mjs');
    expect(agent.status).toBe('ready');
  });

  it('records one end reason: the first wins', async () => {
    const agent = await agentWith();
    await agent.terminate('first reason');
    await agent.terminate('second reason');
    expect(agent.status).toBe('terminated');
    expect(agent.instance.endReason).toBe('first reason');
    expect(pidAlive(agent.pid)).toBe(false);
  });

  it('fails a subtask whose plugin exits mid-run as SYSTEM/AGENT_CRASHED with the exit code', async () => {
    const agent = await agentWith();
    const e = err(await run(agent, 'exit-3'));
    expect(e).toMatchObject({ category: 'SYSTEM', code: 'AGENT_CRASHED' });
    expect(e.context['exitCode']).toBe(3);
    expect(agent.status).toBe('failed');
  });

  it('rejects an invalid specification naming every problem', async () => {
    const factory = makeFactory();
    factories.push(factory);
    const bad = { ...spec(), agentType: 'wizard', capabilities: [] };
    const e = err(await factory.createSubAgent(bad));
    expect(e.code).toBe('INVALID_SPEC');
    expect(e.message).toContain('spec.agentType');
    expect(e.message).toContain('spec.capabilities');
  });

  it('refuses an agent that does not fit the memory budget', async () => {
    const factory = makeFactory(testConfig({ resources: { maxTotalMemory: 300 } }));
    const first = await agentWith({ memoryMB: 200 }, factory);
    const e = err(await factory.createSubAgent(spec({ memoryMB: 200 })));
    expect(e).toMatchObject({ category: 'RESOURCE', code: 'INSUFFICIENT_RESOURCES' });
    await first.terminate('done');
    ok(await factory.createSubAgent(spec({ memoryMB: 200 })).then((r) => (r.tag === 'success' && pids.push(r.value.pid), r)));
  });
});

describe('file-system sandbox (restricted isolation)', () => {
  it('denies reading a file outside the grants, and returns nothing of it', async () => {
    const agent = await agentWith();
    const e = err(await run(agent, 'read-outside', { path: secretFile() }));
    expect(e).toMatchObject({ category: 'AUTHORIZATION', code: 'FS_DENIED' });
    expect(JSON.stringify(e)).not.toContain('TOP-SECRET');
  });

  it('denies writing outside the workspace; the file is not created', async () => {
    const agent = await agentWith();
    const target = path.join(tempProject(), 'pwned.txt');
    const e = err(await run(agent, 'write-outside', { path: target }));
    expect(e.code).toBe('FS_DENIED');
    expect(existsSync(target)).toBe(false);
  });

  it('lets a restricted agent write in its workspace, but not a read-only one', async () => {
    const writer = await agentWith({ fs: 'restricted' });
    expect(ok(await run(writer, 'write-workspace')).outputs).toEqual({ data: 'hello' });
    const reader = await agentWith({ fs: 'read-only' });
    const e = err(await run(reader, 'write-workspace'));
    expect(e.code).toBe('FS_DENIED');
    expect(existsSync(path.join(reader.instance.workspace, 'inside.txt'))).toBe(false);
  });

  it('refuses to start an agent whose granted dir holds a symlink leading out', async () => {
    const grant = tempProject('qicoord-grant-');
    const secret = secretFile();
    symlinkSync(secret, path.join(grant, 'link.txt'));
    const factory = makeFactory(testConfig({ sandbox: { readPaths: [grant] } }));
    factories.push(factory);
    const e = err(await factory.spawn(spec()));
    expect(e.code).toBe('FS_DENIED');
    expect(e.message).toContain('link.txt');
  });

  it('denies child processes and workers', async () => {
    const agent = await agentWith();
    expect(err(await run(agent, 'spawn'))).toMatchObject({ category: 'AUTHORIZATION', code: 'PROCESS_DENIED' });
    expect(err(await run(agent, 'worker'))).toMatchObject({ category: 'AUTHORIZATION', code: 'PROCESS_DENIED' });
  });
});

describe('network policy', () => {
  it.each(['net', 'http', 'fetch'])('denies %s under networkAccessLevel none; the server sees no connection', async (api) => {
    const server = await countingServer();
    try {
      const agent = await agentWith({ net: 'none' });
      const e = err(await run(agent, api, { port: server.port }));
      expect(e).toMatchObject({ category: 'AUTHORIZATION', code: 'NET_DENIED' });
      expect(server.connections()).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('reaches listed hosts under restricted only through the fetch tool; direct sockets reach nothing', async () => {
    const listed = await countingServer();
    const other = await countingServer();
    try {
      const agent = await agentWith({ net: 'restricted', hosts: [`127.0.0.1:${listed.port}`], tools: ['fetch'] });
      // The agent has a network namespace of its own: even a listed host is not reachable directly.
      expect(err(await run(agent, 'net', { port: listed.port })).code).toBe('NET_DENIED');
      expect(listed.connections()).toBe(0);
      const fetched = ok(await run(agent, 'tool', { tool: 'fetch', args: { url: `http://127.0.0.1:${listed.port}/` } })).outputs;
      expect(fetched).toMatchObject({ data: { status: 200, body: 'ok' } });
      expect(await waitUntil(() => listed.connections() === 1)).toBe(true);
      expect(err(await run(agent, 'tool', { tool: 'fetch', args: { url: `http://127.0.0.1:${other.port}/` } })).code).toBe('NET_DENIED');
      expect(other.connections()).toBe(0);
    } finally {
      await listed.close();
      await other.close();
    }
  });
});

describe('resource limits', () => {
  it.each(['buffer-bomb', 'heap-bomb'])('stops a %s under 128 MB with MEMORY_LIMIT and the peak recorded', async (bomb) => {
    const agent = await agentWith({ memoryMB: 128 });
    const e = err(await run(agent, bomb));
    expect(e).toMatchObject({ category: 'RESOURCE', code: 'MEMORY_LIMIT' });
    expect(Number(e.context['peakRssMB'])).toBeGreaterThan(0);
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
  });

  it('stops a busy loop past its deadline with TIMEOUT/TIME_LIMIT', async () => {
    const agent = await agentWith();
    const e = err(await run(agent, 'busy-loop', {}, { maxDuration: 300 }));
    expect(e).toMatchObject({ category: 'TIMEOUT', code: 'TIME_LIMIT' });
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
  });

  it('kills a plugin that ignores SIGTERM', async () => {
    const agent = await agentWith();
    const e = err(await run(agent, 'ignore-sigterm', {}, { maxDuration: 300 }));
    expect(e.code).toBe('TIME_LIMIT');
    expect(await waitUntil(() => !pidAlive(agent.pid), 5000)).toBe(true);
  });
});

describe('untrusted channel', () => {
  it.each(['malformed', 'oversized', 'flood'])('fails an agent that sends %s messages with INVALID_MESSAGE; others are unharmed', async (kind) => {
    const factory = makeFactory();
    const victim = await agentWith({}, factory);
    const bystander = await agentWith({}, factory);
    const e = err(await run(victim, 'ipc-garbage', { kind }));
    expect(e).toMatchObject({ category: 'VALIDATION', code: 'INVALID_MESSAGE' });
    expect(await waitUntil(() => !pidAlive(victim.pid))).toBe(true);
    expect(ok(await run(bystander, 'echo', { value: 'still fine' })).outputs).toEqual({ data: 'still fine' });
  });

  it('captures 50 MB written to stdout without harm, and keeps none of it on our stdout', async () => {
    const agent = await agentWith();
    const before = process.stdout.bytesWritten ?? 0;
    expect(ok(await run(agent, 'stdout-flood')).outputs).toEqual({ data: 'flooded' });
    expect((process.stdout.bytesWritten ?? 0) - before).toBeLessThan(1024);
  });

  it('drops __proto__ keys from child messages', async () => {
    const agent = await agentWith();
    const outcome = ok(await run(agent, 'proto-payload'));
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted2']).toBeUndefined();
    expect(Object.getPrototypeOf(outcome.outputs['data'])).toBe(Object.prototype);
  });
});

describe('tool broker', () => {
  it('denies a tool not in allowedTools', async () => {
    const agent = await agentWith({ tools: ['read'] });
    const e = err(await run(agent, 'tool', { tool: 'write', args: { path: 'x.txt', content: 'no' } }));
    expect(e).toMatchObject({ category: 'AUTHORIZATION', code: 'TOOL_DENIED' });
    expect(existsSync(path.join(agent.instance.workspace, 'x.txt'))).toBe(false);
  });

  it('denies prohibitedOperations', async () => {
    const agent = await agentWith({ tools: ['read', 'write'], prohibited: ['write'] });
    expect(err(await run(agent, 'tool', { tool: 'write', args: { path: 'x.txt', content: 'no' } })).code).toBe('TOOL_DENIED');
  });

  it('enforces the tool-call budget and counts usage', async () => {
    const agent = await agentWith({ maxToolCalls: 3 });
    writeFileSync(path.join(agent.instance.workspace, 'f.txt'), 'data');
    const e = err(await run(agent, 'tool-loop', { tool: 'read', args: { path: 'f.txt' }, times: 5 }));
    expect(e).toMatchObject({ category: 'RESOURCE', code: 'TOOL_BUDGET' });
    expect(agent.instance.resourceUsage.toolCalls).toBe(3);
  });

  it('enforces the file-operation budget', async () => {
    const agent = await agentWith({ maxFileOperations: 2 });
    writeFileSync(path.join(agent.instance.workspace, 'f.txt'), 'data');
    expect(err(await run(agent, 'tool-loop', { tool: 'read', args: { path: 'f.txt' }, times: 3 })).code).toBe('FILE_OP_BUDGET');
  });

  it('reads through the broker inside the grants', async () => {
    const agent = await agentWith();
    writeFileSync(path.join(agent.instance.workspace, 'f.txt'), 'broker-read');
    expect(ok(await run(agent, 'tool', { tool: 'read', args: { path: 'f.txt' } })).outputs).toEqual({ data: 'broker-read' });
    expect(agent.instance.resourceUsage.fileOperations).toBe(1);
  });
});

describe('monitored isolation: the pidusage watchdog alone', () => {
  it('kills a Buffer bomb on RSS, with the peak recorded', async () => {
    const agent = await agentWith({ isolationLevel: 'monitored', memoryMB: 128 });
    expect(agent.instance.layers).toContain('pidusage-watchdog');
    const e = err(await run(agent, 'buffer-bomb'));
    expect(e).toMatchObject({ category: 'RESOURCE', code: 'MEMORY_LIMIT' });
    expect(Number(e.context['peakRssMB'])).toBeGreaterThan(128);
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
  });
});

describe('sandbox isolation: OS network namespace', () => {
  it('runs in a network namespace where the host has one, else refuses with SANDBOX_UNAVAILABLE', async () => {
    const server = await countingServer();
    const factory = makeFactory();
    factories.push(factory);
    try {
      const spawned = await factory.spawn(spec({ isolationLevel: 'sandbox', net: 'none' }));
      if (spawned.tag === 'failure') {
        expect(spawned.error.code).toBe('SANDBOX_UNAVAILABLE');
        return;
      }
      const agent = spawned.value;
      pids.push(agent.pid);
      expect(agent.instance.layers.some((l) => l.startsWith('netns'))).toBe(true);
      expect(err(await run(agent, 'net', { port: server.port })).category).toBe('AUTHORIZATION');
      expect(server.connections()).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe('no orphans', () => {
  it('agents die when their coordinator is SIGKILLed (parent-death signal)', async () => {
    const { spawn } = await import('node:child_process');
    const coordinator = spawn(process.execPath, [path.join(import.meta.dirname, 'fixtures/coordinator-kill.mjs')], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env['PATH'] ?? '' },
    });
    const line = await new Promise<string>((resolve, reject) => {
      coordinator.stdout.once('data', (d: Buffer) => resolve(d.toString()));
      coordinator.once('exit', (code) => reject(new Error(`coordinator exited early (${code})`)));
    });
    const agentPids = JSON.parse(line) as number[];
    expect(agentPids).toHaveLength(2);
    expect(agentPids.every(pidAlive)).toBe(true);
    coordinator.kill('SIGKILL');
    expect(await waitUntil(() => agentPids.every((p) => !pidAlive(p)), 5000)).toBe(true);
  });
});

describe('warm pool', () => {
  it('hands out a pre-started agent of the same profile, never across profiles, never twice', async () => {
    const factory = makeFactory(testConfig({ pool: { enabled: true, size: 1 } }));
    factories.push(factory);
    ok(await factory.prewarm(spec(), 1));
    const warm = ok(await factory.spawn(spec()));
    pids.push(warm.pid);
    expect(warm.instance.warm).toBe(true);
    expect(ok(await run(warm, 'echo', { value: 'from the pool' })).outputs).toEqual({ data: 'from the pool' });
    const other = ok(await factory.spawn(spec({ fs: 'read-only' })));
    pids.push(other.pid);
    expect(other.instance.warm).toBe(false);
    expect(other.pid).not.toBe(warm.pid);
    // The agent that ran a subtask never goes back to the pool: the next one is a different process.
    await warm.terminate('done');
    expect(await waitUntil(() => factory.warmCount >= 1, 10_000)).toBe(true);
    const next = ok(await factory.spawn(spec()));
    pids.push(next.pid);
    expect(next.instance.warm).toBe(true);
    expect(next.pid).not.toBe(warm.pid);
  });
});

describe('CPU cap', () => {
  it('stops an agent whose CPU stays over maxCpuPercent across the window (CPU_LIMIT)', async () => {
    const factory = makeFactory(testConfig({ monitor: { pollIntervalMs: 50, cpuWindowMs: 300 } }));
    factories.push(factory);
    const capped = { ...spec(), resourceLimits: { ...spec().resourceLimits, maxCpuPercent: 30 } };
    const agent = ok(await factory.spawn(capped));
    pids.push(agent.pid);
    const e = err(await run(agent, 'busy-loop'));
    expect(e).toMatchObject({ category: 'RESOURCE', code: 'CPU_LIMIT' });
    expect(Number(e.context['cpuPercent'])).toBeGreaterThan(30);
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
  });
});
