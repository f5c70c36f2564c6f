/**
 * The worker's live view: a session's happenings (subtask start and end, progress, tool calls,
 * the agent's end) become the events `run`'s table is drawn from, and the table shows them; on a
 * real terminal (`script` gives `qicoord worker` a pseudo-TTY) the worker draws that table while
 * it runs a coordinator's agent, and without one it prints one line per job.
 */
import { MR_PLUGIN, remoteCoordinator, remoteSetup, SECRET } from './setup.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFrame } from '../../src/cli/progress/frame.js';
import { defaultConfig } from '../../src/config/load.js';
import type { CoordinatorEvent } from '../../src/events/types.js';
import { createCoordinator, type MultiAgentCoordinator } from '../../src/index.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { BRAND, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import type { ChildMessage } from '../../src/protocol/messages.js';
import { RemoteSession } from '../../src/remote/session.js';
import { WorkerProgress } from '../../src/remote/worker-view.js';
import type { SubAgentSpecification } from '../../src/schemas/spec.js';
import { ResourceMonitor } from '../../src/subagent/monitor.js';
import type { AgentConnection, AgentEnd, MessageSink } from '../../src/subagent/transport.js';
import { builtinTools } from '../../src/tools/broker.js';
import { ok } from '../helpers.js';
import { strategy, task } from '../live-helpers.js';
import { waitUntil } from '../sandbox-helpers.js';
import type { TestRedis } from './redis-server.js';
import { startWorker } from './worker-process.js';

const SPEC = {
  agentType: 'specialized',
  plugin: 'mr',
  capabilities: ['map-reduce'],
  resourceLimits: { maxMemoryMB: 128, maxExecutionTimeMs: 60_000, allowedNetworkHosts: [], maxToolCalls: 100, maxFileOperations: 100, maxConcurrentOperations: 4 },
  securityConstraints: { allowedTools: ['read'], prohibitedOperations: [], networkAccessLevel: 'none', fileSystemAccess: 'read-only' },
  isolationLevel: 'restricted',
  parentAgentId: 'p1',
} as unknown as SubAgentSpecification;

/** A stand-in for the agent's local connection: the test plays the agent through `sink`. */
function agentConnection() {
  let sink: MessageSink | undefined;
  let end!: (e: AgentEnd) => void;
  const sent: unknown[] = [];
  const connection = {
    plugin: { name: 'mr', type: 'specialized', capabilities: ['map-reduce'] },
    boundary: { workspace: '/nonexistent/ws', layers: [], isolationLevel: 'restricted', execute: { wrap: (c: string, a: string[]) => ({ command: c, args: a }), seccompFilter: null, env: {} } },
    pid: undefined,
    baselineMB: 40,
    startMs: 1,
    alive: true,
    ended: new Promise<AgentEnd>((resolve) => (end = resolve)),
    send: (m: unknown) => sent.push(m) > 0,
    messages: (s: MessageSink) => (sink = s),
    stop: async () => {
      end({ reason: 'exited', exitCode: 0, signal: null, stderrTail: '' });
      return connection.ended;
    },
    kill: () => undefined,
  };
  return { connection: connection as unknown as AgentConnection, sent, say: (m: Record<string, unknown>) => sink!.message({ [BRAND]: PROTOCOL_VERSION, ...m } as unknown as ChildMessage) };
}

const execute = (id: string) =>
  JSON.stringify({ [BRAND]: PROTOCOL_VERSION, type: 'execute', subtask: { id, parentTaskId: 't', description: '', expectedOutputs: [], attempt: 1 }, inputs: {} });

describe("the worker's live view", () => {
  it("a session's subtasks, progress, tool calls and end fill run's table", async () => {
    const config = defaultConfig();
    const logger = createRootLogger({ level: 'silent' });
    const monitor = new ResourceMonitor(config.monitor.pollIntervalMs, config.monitor.cpuWindowMs, logger);
    const events: CoordinatorEvent[] = [];
    const progress = new WorkerProgress();
    const agent = agentConnection();
    const session = new RemoteSession({
      session: 'sess-1',
      agentId: 'qicoord.sa1-abcd',
      spec: SPEC,
      connection: agent.connection,
      sandbox: config.sandbox,
      monitor,
      tools: builtinTools(),
      logger,
      send: () => undefined,
      onEvent: (e) => {
        events.push(e);
        progress.apply(e);
      },
    });
    session.onDown('m', execute('map-0'));
    agent.say({ type: 'progress', subtaskId: 'map-0', fraction: 0.5 });
    // A tool call is answered by the worker's broker (here refused: outside the grants) and counted.
    agent.say({ type: 'tool-call', callId: 1, subtaskId: 'map-0', name: 'read', args: { path: '/etc/hostname' } });
    expect(await waitUntil(() => agent.sent.some((m) => (m as { type?: string }).type === 'tool-result'))).toBe(true);
    const frame = renderFrame(progress.model, Date.now(), 160, 24).join('\n');
    expect(frame).toMatch(/sa1-abcd\s+specialized\/mr\s+executing\s+map-0\s+\S+ 50%\s+1\s/);
    expect(frame).toContain('0/1 subtasks (0 ok, 0 failed)');

    agent.say({ type: 'result', subtaskId: 'map-0', outputs: { count: 3 } });
    session.onDown('m', execute('map-1'));
    agent.say({ type: 'error', subtaskId: 'map-1', error: { code: 'PLUGIN_ERROR', message: 'boom', category: 'BUSINESS', context: {} } });
    const after = renderFrame(progress.model, Date.now(), 160, 24).join('\n');
    expect(after).toContain('2/2 subtasks (1 ok, 1 failed)');
    expect(after).toMatch(/sa1-abcd\s+specialized\/mr\s+ready/);

    await agent.connection.stop('done', 0);
    await session.ended;
    expect(renderFrame(progress.model, Date.now(), 160, 24).join('\n')).toMatch(/sa1-abcd\s+specialized\/mr\s+completed/);
    expect(events.filter((e) => e.type === 'subtask-end').map((e) => e.type === 'subtask-end' && [e.subtaskId, e.status, e.error?.code])).toEqual([
      ['map-0', 'succeeded', undefined],
      ['map-1', 'failed', 'PLUGIN_ERROR'],
    ]);
    await monitor.stop();
  });

  it('keeps the rows of ended agents bounded (a worker runs for days)', () => {
    const progress = new WorkerProgress();
    for (let i = 0; i < 100; i++) {
      const status = (s: 'ready' | 'completed') => progress.apply({ type: 'agent', event: { type: 'status', agentId: `a${i}`, agentType: 'basic', plugin: 'p', status: s }, at: i });
      status('ready');
      status('completed');
    }
    expect(progress.model.agents.size).toBe(20);
    expect(progress.model.agents.has('a99')).toBe(true);
    expect(progress.model.agents.has('a0')).toBe(false);
  });
});

const CLI = path.join(import.meta.dirname, '../../dist/src/cli/main.js');

describe('qicoord worker on a terminal', () => {
  let redis: TestRedis;
  let root: string;
  let coordinator: MultiAgentCoordinator;

  beforeAll(async () => {
    ({ redis, root } = await remoteSetup('qicoord-view-'));
    coordinator = await remoteCoordinator(redis, root);
  });

  /** Processes this test started, stopped if a failed assertion left them running (SIGKILL to `script` hangs its terminal up, which ends the worker on it). */
  const started: ChildProcess[] = [];

  afterAll(async () => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await coordinator?.close();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('draws the live table while it runs an agent, and one line per job without a terminal', async () => {
    const config = path.join(root, 'worker.json');
    const markers = path.join(root, 'markers');
    mkdirSync(markers);
    writeFileSync(config, JSON.stringify({ plugins: [MR_PLUGIN], logging: { level: 'error' }, sandbox: { workspaceRoot: path.join(root, 'ws'), writePaths: [markers] }, executor: { type: 'bullmq', connection: redis.socket, lockDurationMs: 1000 } }));
    // `script` runs the worker on a pseudo-terminal of 100 columns and records what it draws.
    const command = `stty cols 160 rows 30; exec ${process.execPath} ${CLI} worker --config ${config} --slots 1 --warm 0`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env['PATH'] ?? '', QICOORD_JOB_SECRET: SECRET, TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
    started.push(child);
    let screen = '';
    child.stdout.on('data', (c: Buffer) => (screen += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(await waitUntil(() => screen.includes('qicoord worker w-'), 15_000), screen).toBe(true);

    const sub = (n: number) => ({ id: `v${n}`, agent: 'mr', inputs: [{ name: 'op', value: 'slow' }, { name: 'ms', value: 400 }, { name: 'markers', value: markers }], expectedOutputs: [{ name: 'done' }], executionConstraints: { maxMemory: 128 } });
    const plan = ok(await coordinator.distributeTask(task('view', [sub(0), sub(1)]), strategy('sequential', { maxConcurrentAgents: 1 })));
    const result = ok(await coordinator.executeDistributedTask(plan));
    expect(result.success).toBe(true);
    expect(await waitUntil(() => /job \S+ agent \S+ plugin mr: done: 2 subtasks/.test(screen), 10_000), screen).toBe(true);
    // The table's header and an agent row with the plugin, and the overall line with both subtasks done.
    expect(screen).toMatch(/AGENT\s+TYPE\s+STATUS\s+SUBTASK\s+PROGRESS/);
    expect(screen).toMatch(/sa1-\S+\s+specialized\/mr\s+executing\s+v[01]/);
    expect(await waitUntil(() => screen.includes('2/2 subtasks (2 ok, 0 failed)'), 5000), screen).toBe(true);
    expect(screen).toContain('\x1b[?25l');
    // Ctrl-C on the terminal: the worker drains and exits 0.
    child.stdin.write('\x03');
    expect(await exited).toBe(0);
    expect(screen).toContain('drained');
    // The cursor is shown again.
    expect(screen).toContain('\x1b[?25h');

    // Without a terminal: the job's line only, no drawing.
    const plain = startWorker(['--config', config, '--slots', '1', '--warm', '0'], { QICOORD_JOB_SECRET: SECRET });
    started.push(plain.child);
    await plain.ready;
    const again = ok(await coordinator.executeDistributedTask(ok(await coordinator.distributeTask(task('plain', [sub(2)]), strategy('sequential', { maxConcurrentAgents: 1 })))));
    expect(again.success).toBe(true);
    expect(await waitUntil(() => /job \S+ agent \S+ plugin mr: done: 1 subtask in/.test(plain.stderr()), 10_000), plain.stderr()).toBe(true);
    plain.child.kill('SIGTERM');
    expect((await plain.exited).code).toBe(0);
    expect(plain.stderr()).not.toContain('\x1b[');
  });
});
