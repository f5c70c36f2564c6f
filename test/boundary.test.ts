/**
 * The isolation boundary, attacked as a hostile plugin that knows Node internals would: every test
 * asserts that the effect did not happen (the coordinator is alive, the file or socket file does
 * not exist, the server counted nothing, the secret appears nowhere, no process is left), plus the
 * error code where there is one. `execute` runs native programs (`node -e`, `sh`) with no Node
 * layer at all, so what holds there is the OS boundary itself.
 */
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubAgent } from '../src/subagent/agent.js';
import type { SubAgentFactory } from '../src/subagent/factory.js';
import { err, ok } from './helpers.js';
import { attack, countingServer, makeFactory, pidAlive, spec, testConfig, waitUntil, type SpecOptions } from './sandbox-helpers.js';

const BOUNDARY = path.join(import.meta.dirname, 'fixtures/plugins/boundary.mjs');
const isRoot = process.getuid?.() === 0;

const factories: SubAgentFactory[] = [];
afterEach(async () => {
  await Promise.all(factories.splice(0).map((f) => f.close()));
});

type Level = 'monitored' | 'restricted' | 'sandbox';

async function agentAt(level: Level, options: SpecOptions & { maxDiskMB?: number } = {}, factory = makeFactory()): Promise<SubAgent> {
  factories.push(factory);
  const base = spec({ plugin: BOUNDARY, isolationLevel: level, ...options });
  const withDisk = options.maxDiskMB === undefined ? base : { ...base, resourceLimits: { ...base.resourceLimits, maxDiskMB: options.maxDiskMB } };
  return ok(await factory.spawn(withDisk));
}

function run(agent: SubAgent, name: string, inputs: Record<string, unknown> = {}) {
  const a = attack(name, inputs);
  return agent.execute(a.subtask, a.inputs);
}

/** The `data` output of a successful attack. */
async function data(agent: SubAgent, name: string, inputs: Record<string, unknown> = {}): Promise<unknown> {
  return ok(await run(agent, name, inputs)).outputs['data'];
}

/** What `execute` returned for a native command run inside the agent's boundary. */
async function exec(agent: SubAgent, command: string, args: string[]): Promise<{ exitCode: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return (await data(agent, 'exec', { command, args })) as { exitCode: number | null; stdout: string; stderr: string; timedOut: boolean };
}

function tempDir(prefix: string): string {
  return realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** Pids whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

function uniqueMarker(): string {
  // `sleep` takes a fractional number of seconds: a unique one marks the process.
  return `300.${process.pid}${Math.floor(performance.now() * 1000)}`;
}

async function unixServer(): Promise<{ path: string; connections: () => number; close: () => Promise<void> }> {
  const dir = tempDir('qicoord-sock-');
  const socketPath = path.join(dir, 'host.sock');
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  chmodSync(socketPath, 0o777);
  chmodSync(dir, 0o755);
  return { path: socketPath, connections: () => count, close: () => new Promise((r) => server.close(() => r())) };
}

async function udpServer(): Promise<{ port: number; received: () => number; close: () => Promise<void> }> {
  let count = 0;
  const socket = dgram.createSocket('udp4');
  socket.on('message', () => count++);
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, received: () => count, close: () => new Promise((r) => socket.close(() => r())) };
}

async function tcp6Server(): Promise<{ port: number; connections: () => number; close: () => Promise<void> } | null> {
  let count = 0;
  const server = net.createServer((s) => {
    count++;
    s.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '::1', resolve));
  } catch {
    return null; // No IPv6 loopback on this host.
  }
  return { port: (server.address() as net.AddressInfo).port, connections: () => count, close: () => new Promise((r) => server.close(() => r())) };
}

async function inspectorOpen(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(9229, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const ENFORCING: readonly Level[] = ['restricted', 'sandbox'];

describe.each(ENFORCING)('isolation level %s', (level) => {
  it('cannot signal the coordinator (no kill, no inspector via SIGUSR1): it is not even visible', async () => {
    const agent = await agentAt(level);
    expect(await data(agent, 'signal', { pid: process.pid, signal: 'SIGUSR1' })).toBe('ESRCH');
    expect(await data(agent, 'signal', { pid: process.pid, signal: 'SIGKILL' })).toBe('ESRCH');
    // The effect did not happen: this process (the coordinator) lives and opened no debugger.
    expect(await inspectorOpen()).toBe(false);
    expect(await data(agent, 'echo', { value: 'still here' })).toBe('still here');
  });

  it("cannot kill a sibling agent; the sibling's work is intact", async () => {
    const factory = makeFactory();
    const attacker = await agentAt(level, {}, factory);
    const victim = await agentAt(level, {}, factory);
    expect(await data(attacker, 'signal', { pid: victim.pid, signal: 'SIGKILL' })).toBe('ESRCH');
    expect(pidAlive(victim.pid)).toBe(true);
    expect(await data(victim, 'echo', { value: 'intact' })).toBe('intact');
  });

  it('a raw libuv pipe handle cannot create a socket file, outside or inside its workspace', async () => {
    const agent = await agentAt(level);
    const outside = path.join(tempDir('qicoord-bind-'), 'evil.sock');
    expect(await data(agent, 'pipe-bind', { path: outside })).not.toBe(0);
    expect(existsSync(outside)).toBe(false);
    const inside = path.join(agent.instance.workspace, 'evil.sock');
    expect(await data(agent, 'pipe-bind', { path: inside })).not.toBe(0);
    expect(existsSync(inside)).toBe(false);
  });

  it('cannot make setuid files or become root', async () => {
    const agent = await agentAt(level);
    const result = (await data(agent, 'setuid-file')) as { chmod: string; created: string; file: string };
    expect(result.chmod).toBe('EPERM');
    const mode = statSync(result.file).mode;
    expect(mode & 0o6000).toBe(0);
    const second = path.join(agent.instance.workspace, 'suid2');
    if (existsSync(second)) expect(statSync(second).mode & 0o6000).toBe(0);
    if (isRoot) expect(statSync(result.file).uid).not.toBe(0);
    expect(await data(agent, 'setuid')).toBe('EPERM');
  });

  describe('execute: native programs stay inside the same boundary', () => {
    const tools = ['execute'];

    it('reach no TCP (v4, v6) or UDP server on the host', async () => {
      const tcp = await countingServer();
      const tcp6 = await tcp6Server();
      const udp = await udpServer();
      try {
        const agent = await agentAt(level, { tools });
        const script = `
          const net = require('net'), dgram = require('dgram');
          const tcp = (host, port) => new Promise((r) => net.connect(port, host).on('connect', () => r('CONNECTED')).on('error', (e) => r(e.code)));
          (async () => {
            const out = [await tcp('127.0.0.1', ${tcp.port})${tcp6 === null ? '' : `, await tcp('::1', ${tcp6.port})`}];
            const s = dgram.createSocket('udp4');
            await new Promise((r) => s.send('x', ${udp.port}, '127.0.0.1', (e) => { out.push(e ? e.code : 'SENT'); s.close(); r(); }));
            console.log(JSON.stringify(out));
          })();`;
        const result = await exec(agent, process.execPath, ['-e', script]);
        expect(result.stdout).not.toContain('CONNECTED');
        // The servers counted nothing.
        await new Promise((r) => setTimeout(r, 100));
        expect(tcp.connections()).toBe(0);
        expect(tcp6?.connections() ?? 0).toBe(0);
        expect(udp.received()).toBe(0);
      } finally {
        await tcp.close();
        await tcp6?.close();
        await udp.close();
      }
    });

    it('reach no Unix socket on the host', async () => {
      const server = await unixServer();
      try {
        const agent = await agentAt(level, { tools });
        const script = `require('net').connect(${JSON.stringify(server.path)}).on('connect', () => console.log('CONNECTED')).on('error', (e) => console.log(e.code))`;
        const result = await exec(agent, process.execPath, ['-e', script]);
        expect(result.stdout).not.toContain('CONNECTED');
        expect(server.connections()).toBe(0);
      } finally {
        await server.close();
      }
    });

    it("read neither the coordinator's environment nor files outside the grants", async () => {
      const secret = `qicoord-secret-${process.pid}`;
      process.env['QICOORD_BOUNDARY_SECRET'] = secret;
      const secretDir = tempDir('qicoord-secret-');
      chmodSync(secretDir, 0o755);
      const secretFile = path.join(secretDir, 'secret.txt');
      writeFileSync(secretFile, secret, { mode: 0o644 });
      try {
        const agent = await agentAt(level, { tools });
        const targets = [`/proc/${process.pid}/environ`, `/proc/${process.ppid}/environ`, '/proc/1/environ', secretFile];
        const script = `const fs = require('fs'); for (const f of ${JSON.stringify(targets)}) { try { console.log(f, fs.readFileSync(f, 'utf8')); } catch (e) { console.log(f, e.code); } } console.log('pids', fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).join(','));`;
        const result = await exec(agent, process.execPath, ['-e', script]);
        expect(result.stdout).toContain('pids');
        expect(result.stdout + result.stderr).not.toContain(secret);
        // Only the sandbox's own processes are visible (bwrap's init, node): never the coordinator.
        const pids = /pids (.*)/.exec(result.stdout)?.[1]?.split(',') ?? [];
        expect(pids).not.toContain(String(process.pid));
      } finally {
        delete process.env['QICOORD_BOUNDARY_SECRET'];
      }
    });

    it('kill neither the coordinator nor anything outside; a setsid grandchild does not survive or hold the pipes', async () => {
      const marker = uniqueMarker();
      const agent = await agentAt(level, { tools });
      const script = `
        for (const sig of ['SIGUSR1', 'SIGKILL']) { try { process.kill(${process.pid}, sig); } catch (e) { console.log(sig, e.code); } }
        // detached: a new session (setsid), holding our stdout and stderr.
        require('child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300000) // ${marker}'], { detached: true, stdio: 'inherit' }).unref();
        console.log('started');`;
      const result = await exec(agent, process.execPath, ['-e', script]);
      expect(result.stdout).toContain('started');
      expect(result.timedOut).toBe(false);
      expect(await inspectorOpen()).toBe(false);
      expect(await waitUntil(() => processesWith(marker).length === 0)).toBe(true);
    });

    it('cannot leave a setuid file behind', async () => {
      const agent = await agentAt(level, { tools });
      const file = path.join(agent.instance.workspace, 'tool-suid');
      const script = `const fs = require('fs'); fs.writeFileSync(${JSON.stringify(file)}, 'x'); try { fs.chmodSync(${JSON.stringify(file)}, 0o4755); console.log('chmod ok'); } catch (e) { console.log('chmod', e.code); }`;
      const result = await exec(agent, process.execPath, ['-e', script]);
      expect(result.stdout).toContain('chmod EPERM');
      expect(statSync(file).mode & 0o6000).toBe(0);
    });
  });

  it('fills no more than maxDiskMB: one big file → DISK_LIMIT', async () => {
    const agent = await agentAt(level, { maxDiskMB: 8 });
    const e = err(await run(agent, 'disk-one-file', { mb: 32 }));
    expect(e.code).toBe('DISK_LIMIT');
    const big = path.join(agent.instance.workspace, 'big');
    if (existsSync(big)) expect(statSync(big).size).toBeLessThanOrEqual(8 * 1024 * 1024);
  });

  it('fills no more than maxDiskMB: many small files → DISK_LIMIT, agent stopped', async () => {
    const agent = await agentAt(level, { maxDiskMB: 4 });
    const e = err(await run(agent, 'disk-many-files', { mb: 256 }));
    expect(e.code).toBe('DISK_LIMIT');
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
  });

  it('fills its workspace with no more than sandbox.maxWorkspaceEntries files: empty files past it → DISK_LIMIT, agent stopped', async () => {
    // An empty file costs no bytes, but each one lengthens the coordinator's synchronous walk.
    const agent = await agentAt(level, {}, makeFactory(testConfig({ sandbox: { maxWorkspaceEntries: 200 } })));
    const e = err(await run(agent, 'disk-many-entries', { count: 1000 }));
    expect(e.code).toBe('DISK_LIMIT');
    expect(e.message).toContain('more than 200 files and folders');
    expect(e.message).toContain('sandbox.maxWorkspaceEntries');
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
  });

  it('a WebAssembly memory bomb is reported MEMORY_LIMIT', async () => {
    const agent = await agentAt(level, { memoryMB: 128 });
    expect(err(await run(agent, 'wasm-grow')).code).toBe('MEMORY_LIMIT');
  });
});

/** The cgroup folders (v1: one per controller; v2: one) of a live process. */
function cgroupDirsOf(pid: number): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) {
    const [, controllers = '', where = '/'] = line.split(':');
    if (controllers === '') dirs.set('unified', path.join('/sys/fs/cgroup', where));
    for (const c of controllers.split(',')) if (['memory', 'cpu', 'pids'].includes(c)) dirs.set(c, path.join('/sys/fs/cgroup', c, where));
  }
  return dirs;
}

describe.runIf(isRoot)('sandbox kernel caps (cgroups, where the host lets us make them)', () => {
  it('the agent process runs in its own cgroup with memory and pids caps', async () => {
    const agent = await agentAt('sandbox', { memoryMB: 128 });
    if (!agent.instance.layers.includes('cgroup:memory')) return; // This host gives no cgroups.
    const dirs = cgroupDirsOf(agent.pid);
    const memoryDir = dirs.get('memory') ?? dirs.get('unified')!;
    const pidsDir = dirs.get('pids') ?? dirs.get('unified')!;
    expect(memoryDir).toContain(agent.id);
    const limit = existsSync(path.join(memoryDir, 'memory.max')) ? readFileSync(path.join(memoryDir, 'memory.max'), 'utf8') : readFileSync(path.join(memoryDir, 'memory.limit_in_bytes'), 'utf8');
    expect(Number(limit)).toBe((128 + 64) * 1024 * 1024);
    expect(readFileSync(path.join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('256');
    await agent.terminate('test');
    // The cgroup goes with the agent.
    expect(await waitUntil(() => !existsSync(memoryDir))).toBe(true);
  });

  it('maxCpuPercent throttles instead of killing: a busy loop runs to its deadline, not CPU_LIMIT', async () => {
    const factory = makeFactory();
    factories.push(factory);
    const base = spec({ plugin: BOUNDARY, isolationLevel: 'sandbox' });
    const agent = ok(await factory.spawn({ ...base, resourceLimits: { ...base.resourceLimits, maxCpuPercent: 20 } }));
    if (!agent.instance.layers.includes('cgroup:cpu')) return;
    const dirs = cgroupDirsOf(agent.pid);
    const cpuDir = dirs.get('cpu') ?? dirs.get('unified')!;
    const quota = existsSync(path.join(cpuDir, 'cpu.max')) ? readFileSync(path.join(cpuDir, 'cpu.max'), 'utf8').split(' ')[0] : readFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim();
    expect(Number(quota)).toBe(20_000);
    const a = attack('busy', {}, { maxDuration: 1200 });
    const e = err(await agent.execute(a.subtask, a.inputs));
    expect(e.code).toBe('TIME_LIMIT');
  });
});

describe('isolation level monitored (trusted code, still contained)', () => {
  it('a setsid grandchild does not outlive its agent', async () => {
    const marker = uniqueMarker();
    const factory = makeFactory();
    const agent = await agentAt('monitored', {}, factory);
    expect(await data(agent, 'setsid-grandchild', { marker })).toBe('spawned');
    expect(processesWith(marker).length).toBe(1);
    await factory.close();
    expect(await waitUntil(() => processesWith(marker).length === 0)).toBe(true);
  });

  it("memory hidden in a child process counts against the agent's limit", async () => {
    const marker = `qicoord-child-memory-${process.pid}`;
    const agent = await agentAt('monitored', { memoryMB: 128 });
    const e = err(await run(agent, 'child-memory', { marker }));
    expect(e.code).toBe('MEMORY_LIMIT');
    expect(await waitUntil(() => processesWith(marker).length === 0)).toBe(true);
  });
});
