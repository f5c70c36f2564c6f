/**
 * Usage figures of remote agents: the worker's session relays its monitor's readings of the
 * agent's process (memory, CPU, workspace) to the coordinator, spaced out; the coordinator's
 * connection takes only well-formed, bounded reports, at a bounded rate, timed by its own clock.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultConfig } from '../../src/config/load.js';
import { RemoteConnection } from '../../src/remote/connection.js';
import { RemoteSession } from '../../src/remote/session.js';
import type { SubAgentSpecification } from '../../src/schemas/spec.js';
import { ResourceMonitor, type UsageSample } from '../../src/subagent/monitor.js';
import type { AgentConnection, AgentEnd } from '../../src/subagent/transport.js';
import { builtinTools } from '../../src/tools/broker.js';
import { waitUntil } from '../sandbox-helpers.js';

const logger = pino({ level: 'silent' });

function remoteConnection(): RemoteConnection {
  return new RemoteConnection({
    agentId: 'agent-1',
    session: 's-1',
    started: { worker: 'w-1', host: 'h', plugin: { name: 'p', type: 'basic', capabilities: [] }, boundary: { workspace: '/w', layers: [], isolationLevel: 'restricted' }, baselineMB: 40 },
    startMs: 5,
    limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 1000 },
    maxOutputBytes: 10_000,
    logger,
    lockMs: 50,
    send: () => undefined,
    onEnded: () => undefined,
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the coordinator's end takes relayed usage reports", () => {
  it('a well-formed report reaches the listener, timed by this clock', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const c = remoteConnection();
    const got: UsageSample[] = [];
    c.usage((s) => got.push(s));
    c.receiveUsage(JSON.stringify({ rssMB: 61.5, cpuPercent: 97, cpuWindowPercent: 88, peakRssMB: 70, diskMB: 2 }));
    expect(got).toEqual([{ at: 1_000_000, rssMB: 61.5, cpuPercent: 97, cpuWindowPercent: 88, peakRssMB: 70, diskMB: 2 }]);
    expect(c.lastUsage).toEqual(got[0]);
  });

  it.each([
    ['negative', { rssMB: -1, cpuPercent: 0, peakRssMB: 0 }],
    ['huge', { rssMB: 1e12, cpuPercent: 0, peakRssMB: 0 }],
    ['a string', { rssMB: '60', cpuPercent: 0, peakRssMB: 0 }],
    ['an unknown field', { rssMB: 60, cpuPercent: 0, peakRssMB: 60, pid: 1 }],
    ['missing fields', { rssMB: 60 }],
  ])('a report with %s is dropped', (_what, report) => {
    const c = remoteConnection();
    const got: UsageSample[] = [];
    c.usage((s) => got.push(s));
    c.receiveUsage(JSON.stringify(report));
    c.receiveUsage('{nope');
    c.receiveUsage(JSON.stringify({ rssMB: 1, cpuPercent: 0, peakRssMB: 1, pad: 'x'.repeat(2000) }));
    expect(got).toEqual([]);
    expect(c.lastUsage).toBeUndefined();
  });

  it('reports closer together than 100 ms are dropped; none after the end', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(2_000_000);
    const c = remoteConnection();
    const got: number[] = [];
    c.usage((s) => got.push(s.rssMB));
    const report = (rssMB: number) => c.receiveUsage(JSON.stringify({ rssMB, cpuPercent: 0, peakRssMB: rssMB }));
    report(1);
    report(2);
    vi.setSystemTime(2_000_099);
    report(3);
    vi.setSystemTime(2_000_100);
    report(4);
    c.lose('test');
    vi.setSystemTime(2_001_000);
    report(5);
    expect(got).toEqual([1, 4]);
  });
});

describe("the worker's session relays its monitor's readings", () => {
  it("the agent's process is read on the worker and its figures go to the coordinator", async () => {
    const config = defaultConfig();
    // A short poll, so readings come quickly; the relay spaces them out to one per 500 ms.
    const monitor = new ResourceMonitor(20, 200, logger);
    const sent: { kind: string; data: string }[] = [];
    let end!: (e: AgentEnd) => void;
    const connection = {
      plugin: { name: 'p', type: 'basic', capabilities: [] },
      boundary: { workspace: '/nonexistent', layers: [], isolationLevel: 'monitored', execute: { wrap: (c: string, a: string[]) => ({ command: c, args: a }), seccompFilter: null, env: {} } },
      // A real process to read: this one.
      pid: process.pid,
      baselineMB: 0,
      startMs: 1,
      alive: true,
      ended: new Promise<AgentEnd>((resolve) => (end = resolve)),
      send: () => true,
      messages: () => undefined,
      stop: async () => {
        end({ reason: 'exited', exitCode: 0, signal: null, stderrTail: '' });
        return connection.ended;
      },
      kill: () => undefined,
    };
    const session = new RemoteSession({
      session: 's-1',
      agentId: 'agent-1',
      spec: { agentType: 'basic', capabilities: [], resourceLimits: { maxMemoryMB: 100_000, maxExecutionTimeMs: 60_000, allowedNetworkHosts: [], maxToolCalls: 1, maxFileOperations: 1, maxConcurrentOperations: 1 }, securityConstraints: { allowedTools: [], prohibitedOperations: [], networkAccessLevel: 'none', fileSystemAccess: 'read-only' }, isolationLevel: 'monitored', parentAgentId: 'p' } as unknown as SubAgentSpecification,
      connection: connection as unknown as AgentConnection,
      sandbox: config.sandbox,
      monitor,
      tools: builtinTools(),
      logger,
      send: (kind, data) => sent.push({ kind, data }),
    });
    const usage = () => sent.filter((e) => e.kind === 'usage');
    expect(await waitUntil(() => usage().length >= 2, 10_000)).toBe(true);
    await connection.stop();
    await session.ended;
    await monitor.stop();
    const c = remoteConnection();
    const got: UsageSample[] = [];
    c.usage((s) => got.push(s));
    c.receiveUsage(usage()[0]!.data);
    // This process's resident memory, as the coordinator sees it.
    expect(got[0]!.rssMB).toBeGreaterThan(10);
    expect(got[0]!.peakRssMB).toBeGreaterThanOrEqual(got[0]!.rssMB);
  });
});
