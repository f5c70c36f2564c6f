/**
 * Failure handling and coordination through the in-memory transport: the same SubAgent,
 * channel checks and execution engine as with a child process, with no fork. The `steps`
 * fixture's `exit` step would end this process, so the transport's loader turns it into a crash
 * of the in-memory agent (what a dying child looks like to the coordinator).
 */
import { mkdtempSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoordinator, type CoordinationResult, type CoordinatorEvent, type MultiAgentCoordinator } from '../src/index.js';
import { createRootLogger } from '../src/logging/logger.js';
import { SubAgentFactory } from '../src/subagent/factory.js';
import { inMemoryTransport, type InMemoryTransport } from 'qicoord/testing';
import type { AgentPlugin, AgentPluginContext, SubtaskView } from 'qicoord/plugin';
import { err, ok } from './helpers.js';
import { eventsOf, output, point, report, STEPS_PLUGIN, strategy, sub, task, type Step } from './live-helpers.js';
import { attack, spec, testConfig, waitUntil } from './sandbox-helpers.js';

/** The steps plugin, with `exit` steps crashing the in-memory agent instead of this process. */
function crashingSteps(transport: () => InMemoryTransport): (file: string) => Promise<unknown> {
  return async (file) => {
    const steps = ((await import(file)) as { default: AgentPlugin }).default;
    return {
      ...steps,
      execute(subtask: SubtaskView, ctx: AgentPluginContext) {
        const list = (ctx.inputs['steps'] ?? []) as Step[];
        const exit = list.find((s) => s.do === 'exit' && (s.attempt === undefined || s.attempt === subtask.attempt));
        if (exit !== undefined) {
          transport().agent(ctx.agentId)?.crash(typeof exit['code'] === 'number' ? exit['code'] : 3, null);
          return new Promise(() => undefined);
        }
        return steps.execute(subtask, ctx);
      },
    };
  };
}

interface Harness {
  readonly coordinator: MultiAgentCoordinator;
  readonly transport: InMemoryTransport;
  readonly events: CoordinatorEvent[];
  /** Every agent the transport started (plugin probes included). */
  readonly started: string[];
  run(t: Parameters<MultiAgentCoordinator['distributeTask']>[0], s: Parameters<MultiAgentCoordinator['distributeTask']>[1]): Promise<CoordinationResult>;
}

const open: MultiAgentCoordinator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function inMemoryCoordinator(): Promise<Harness> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-mem-')));
  const started: string[] = [];
  const transport: InMemoryTransport = inMemoryTransport({ loadPlugin: crashingSteps(() => transport), onStart: (agent) => started.push(agent.agentId) });
  const coordinator = ok(
    await createCoordinator({
      cwd: root,
      transport,
      config: { plugins: [STEPS_PLUGIN], logging: { level: 'silent' }, pool: { enabled: false }, sandbox: { workspaceRoot: root } },
    }),
  );
  open.push(coordinator);
  const events: CoordinatorEvent[] = [];
  void (async () => {
    for await (const event of coordinator.events()) events.push(event);
  })();
  return {
    coordinator,
    transport,
    events,
    started,
    async run(t, s) {
      const plan = ok(await coordinator.distributeTask(t, s));
      const result = ok(await coordinator.executeDistributedTask(plan));
      await waitUntil(() => events.some((e) => e.type === 'run-end' && e.coordinationId === result.coordinationId));
      return result;
    },
  };
}

describe('a coordinated run on the in-memory transport', () => {
  it('runs sync points and channels between agents, in this process', async () => {
    const h = await inMemoryCoordinator();
    const t = task('mem', [
      sub('a', [{ do: 'sync', point: 'meet', value: 'a' }, { do: 'send', to: 'b', body: 'hi' }]),
      sub('b', [{ do: 'sync', point: 'meet', value: 'b' }, { do: 'receive' }]),
    ]);
    const result = await h.run(t, strategy('parallel', { synchronizationPoints: [point('meet', 'barrier', { participatingAgents: ['a', 'b'] })] }));
    expect(result.success).toBe(true);
    expect(output(result, 'b').log).toEqual([{ sync: 'meet', value: expect.anything() }, { received: [{ from: 'a', body: 'hi' }] }]);
    // Both subtasks ran on agents the in-memory transport started.
    const ran = eventsOf(h.events, 'subtask-start').map((e) => e.agentId);
    expect(ran).toHaveLength(2);
    for (const agentId of ran) expect(h.started).toContain(agentId);
  });

  it('retry-cascade: an agent crash fails the attempt with AGENT_CRASHED and the retry runs on a fresh agent', async () => {
    const h = await inMemoryCoordinator();
    const t = task('rc', [sub('flaky', [{ do: 'exit', code: 3, attempt: 1 }, { do: 'busy', ms: 1 }]), sub('then', [{ do: 'busy', ms: 1 }])], { then: ['flaky'] });
    const result = await h.run(t, strategy('hybrid', { failureHandling: 'retry-cascade' }));
    expect(result.success).toBe(true);
    expect(report(result, 'flaky')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(output(result, 'flaky').attempt).toBe(2);
    const starts = eventsOf(h.events, 'subtask-start').filter((e) => e.subtaskId === 'flaky');
    expect(starts.map((e) => e.attempt)).toEqual([1, 2]);
    expect(starts[1]!.agentId).not.toBe(starts[0]!.agentId);
    const retry = eventsOf(h.events, 'subtask-retry');
    expect(retry).toHaveLength(1);
    expect(retry[0]!.reason).toContain('AGENT_CRASHED');
    expect(report(result, 'then').status).toBe('succeeded');
  });

  it('a lost agent (a remote worker gone) fails the attempt with WORKER_LOST, and retry-cascade reruns it', async () => {
    const h = await inMemoryCoordinator();
    // When attempt 1 starts, the test loses its agent (it sleeps meanwhile).
    const events = h.coordinator.events();
    const losing = (async () => {
      for await (const e of events) {
        if (e.type === 'subtask-start' && e.subtaskId === 'far' && e.attempt === 1) {
          h.transport.agent(e.agentId)?.lose();
          return;
        }
      }
    })();
    const result = await h.run(task('lost', [sub('far', [{ do: 'sleep', ms: 200, attempt: 1 }, { do: 'busy', ms: 1 }])]), strategy('sequential', { failureHandling: 'retry-cascade' }));
    await losing;
    expect(result.success).toBe(true);
    expect(report(result, 'far')).toMatchObject({ status: 'succeeded', attempts: 2 });
    const retry = eventsOf(h.events, 'subtask-retry');
    expect(retry).toHaveLength(1);
    expect(retry[0]!.reason).toContain('WORKER_LOST');
  });

  it('gives up after three crashes and reports AGENT_CRASHED', async () => {
    const h = await inMemoryCoordinator();
    const result = await h.run(task('doomed', [sub('doomed', [{ do: 'exit', code: 4 }])]), strategy('sequential', { failureHandling: 'retry-cascade' }));
    expect(result.success).toBe(false);
    expect(report(result, 'doomed')).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'AGENT_CRASHED', category: 'SYSTEM' } });
  });

  it('a subtask past its maxDuration fails with TIME_LIMIT and the run goes on', async () => {
    const h = await inMemoryCoordinator();
    const slow = sub('slow', [{ do: 'sleep', ms: 60_000 }], { executionConstraints: { maxMemory: 128, maxDuration: 150 } });
    const started = Date.now();
    const result = await h.run(task('deadline', [slow, sub('fine', [{ do: 'busy', ms: 1 }])]), strategy('parallel', { failureHandling: 'graceful-degradation' }));
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(report(result, 'slow')).toMatchObject({ status: 'failed', error: { code: 'TIME_LIMIT', category: 'TIMEOUT' } });
    expect(report(result, 'fine').status).toBe('succeeded');
  });
});

describe('a SubAgent on the in-memory transport', () => {
  const factories: SubAgentFactory[] = [];
  afterEach(async () => {
    await Promise.all(factories.splice(0).map((f) => f.close()));
  });

  /** A factory whose agents run `plugin` in-process (its file is the hostile fixture's path, never imported). */
  function factory(plugin: AgentPlugin): { factory: SubAgentFactory; transport: InMemoryTransport } {
    const transport = inMemoryTransport({ loadPlugin: () => ({ default: plugin }) });
    const f = new SubAgentFactory({ parentAgentId: 'test-coordinator', config: testConfig(), logger: createRootLogger({ level: 'silent' }), transport });
    factories.push(f);
    return { factory: f, transport };
  }

  const waiting: AgentPlugin = {
    name: 'waiting',
    type: 'specialized',
    capabilities: ['attack'],
    execute: (_subtask, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve({ data: 'aborted' }))),
  };

  it('a message naming another subtask fails the agent with INVALID_MESSAGE (identity binding)', async () => {
    const { factory: f, transport } = factory(waiting);
    const agent = ok(await f.spawn(spec()));
    const a = attack('forge');
    const pending = agent.execute(a.subtask, a.inputs);
    transport.agent(agent.id)!.write(`${JSON.stringify({ __qicoord: 1, type: 'progress', subtaskId: 'someone-else', fraction: 0.5 })}\n`);
    const e = err(await pending);
    expect(e).toMatchObject({ code: 'INVALID_MESSAGE', category: 'VALIDATION' });
    expect(e.message).toContain("naming subtask 'someone-else'");
    await agent.exited;
    expect(agent.instance.status).toBe('failed');
  });

  it('malformed, oversized and too deeply nested messages fail the agent with INVALID_MESSAGE', async () => {
    const deep = `{"__qicoord":1,"type":"log","level":"info","msg":"x","data":{"a":${'['.repeat(200)}${']'.repeat(200)}}}`;
    const cases: [string, string][] = [
      ['not json\n', 'not JSON'],
      [`${JSON.stringify({ __qicoord: 1, type: 'log', level: 'info', msg: 'x', data: { big: 'x'.repeat(5_000_000) } })}\n`, 'bytes'],
      [`${deep}\n`, 'nested deeper'],
    ];
    for (const [line, says] of cases) {
      const { factory: f, transport } = factory(waiting);
      const agent = ok(await f.spawn(spec()));
      const a = attack('bad');
      const pending = agent.execute(a.subtask, a.inputs);
      transport.agent(agent.id)!.write(line);
      const e = err(await pending);
      expect(e.code).toBe('INVALID_MESSAGE');
      expect(e.message).toContain(says);
      await agent.exited;
      expect(agent.alive).toBe(false);
    }
  });

  it('a crash mid-subtask is AGENT_CRASHED; the end is recorded once', async () => {
    const { factory: f, transport } = factory(waiting);
    const agent = ok(await f.spawn(spec()));
    const a = attack('crash');
    const pending = agent.execute(a.subtask, a.inputs);
    transport.agent(agent.id)!.crash(3, null);
    transport.agent(agent.id)?.crash(0, 'SIGTERM');
    const e = err(await pending);
    expect(e).toMatchObject({ code: 'AGENT_CRASHED', category: 'SYSTEM', context: { exitCode: 3, signal: null } });
    await agent.exited;
    expect(agent.instance.endReason).toBe('crashed');
  });

  it("the handshake's order is checked: a 'ready' before 'hello', or a second 'hello', fails the start with INVALID_MESSAGE", async () => {
    // `init` is sent before the child says hello (it waits in the pipe); the child's side of the
    // order is still enforced. onStart writes before the runtime's own hello (a later tick).
    const cases: [string, string][] = [
      [`${JSON.stringify({ __qicoord: 1, type: 'ready', plugin: { name: 'forged', type: 'basic', capabilities: ['attack'] } })}\n`, "'ready' before 'hello'"],
      [`${JSON.stringify({ __qicoord: 1, type: 'hello', pid: 1, node: 'v0' })}\n`, "a second 'hello'"],
    ];
    for (const [line, says] of cases) {
      const transport = inMemoryTransport({ loadPlugin: () => ({ default: waiting }), onStart: (agent) => agent.write(line) });
      const f = new SubAgentFactory({ parentAgentId: 'test-coordinator', config: testConfig(), logger: createRootLogger({ level: 'silent' }), transport });
      factories.push(f);
      const e = err(await f.spawn(spec()));
      expect(e.code).toBe('INVALID_MESSAGE');
      expect(e.message).toContain(says);
    }
  });

  it('a plugin that fails to load is a start failure, not a crash', async () => {
    const transport = inMemoryTransport({
      loadPlugin: () => {
        throw new Error('broken import');
      },
    });
    const f = new SubAgentFactory({ parentAgentId: 'test-coordinator', config: testConfig(), logger: createRootLogger({ level: 'silent' }), transport });
    factories.push(f);
    const e = err(await f.spawn(spec()));
    expect(e.code).toBe('PLUGIN_INVALID');
    expect(e.message).toContain('broken import');
  });
});
