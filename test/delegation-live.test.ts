/**
 * ctx.delegate on real SubAgent processes: fan-out and merge, the depth and count limits, every
 * escalation refused (and a child holding what its parent holds still unable to do what the
 * parent cannot, checked by effect), a fan-out wider than the concurrency cap finishing, and
 * cancellation reaching every descendant (ctx.signal first, SIGKILL after the grace).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil as waitFor } from './sandbox-helpers.js';
import { eventsOf, liveCoordinator, processesUnder, report, strategy, task, type LiveCoordinator } from './live-helpers.js';
import type { ConfigInput } from '../src/index.js';
import type { SubTaskInput } from '../src/schemas/task.js';
import { tempProject, writeFiles } from './helpers.js';

const DELEGATOR = path.join(import.meta.dirname, 'fixtures/plugins/delegator.mjs');

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

async function coordinator(config: ConfigInput = {}): Promise<LiveCoordinator> {
  live = await liveCoordinator({ plugins: [DELEGATOR], ...config });
  return live;
}

function d(id: string, inputs: Record<string, unknown>, outputs: string[], extra: Partial<SubTaskInput> = {}): SubTaskInput {
  return { id, agent: 'delegator', inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })), expectedOutputs: outputs.map((name) => ({ name })), executionConstraints: { maxMemory: 128 }, ...extra };
}

/** A folder every agent uid may write (tests run as root; agents as nobody). */
function openDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qicoord-deleg-'));
  chmodSync(dir, 0o777);
  return dir;
}

describe('fan-out and merge', () => {
  it('a parent delegates one child per value and merges their outputs; the children are in the result under it', async () => {
    const c = await coordinator();
    const result = await c.run(task('fan', [d('plan', { mode: 'fanout', values: [1, 2, 3, 4, 5] }, ['sum', 'outs'])]), strategy('hybrid', { maxConcurrentAgents: 2 }));
    expect(result.success).toBe(true);
    expect(result.aggregatedResult.outputs['plan']).toEqual({ sum: 30, outs: [2, 4, 6, 8, 10] });
    const children = result.aggregatedResult.subtasks.filter((s) => s.parentId === 'plan');
    expect(children.map((s) => s.id)).toEqual(['plan~0', 'plan~1', 'plan~2', 'plan~3', 'plan~4']);
    expect(children.every((s) => s.status === 'succeeded' && s.depth === 1)).toBe(true);
    expect(result.aggregatedResult.outputs['plan~2']).toEqual({ out: 6, depth: 1 });
    const delegated = eventsOf(c.events, 'subtasks-delegated');
    expect(delegated).toHaveLength(1);
    expect(delegated[0]!.parentId).toBe('plan');
  });
});

describe('limits', () => {
  it('recursion stops at delegation.maxDepth with DELEGATION_LIMIT, which the deepest parent can catch', async () => {
    const c = await coordinator({ delegation: { maxDepth: 2, maxSubtasks: 200 } });
    const result = await c.run(task('deep', [d('r', { mode: 'recurse' }, ['reached', 'code'])]), strategy('hybrid'));
    expect(result.success).toBe(true);
    expect(result.aggregatedResult.outputs['r']).toEqual({ reached: 2, code: 'DELEGATION_LIMIT' });
    expect(result.aggregatedResult.subtasks.map((s) => [s.id, s.depth ?? 0])).toEqual([
      ['r', 0],
      ['r~down', 1],
      ['r~down~down', 2],
    ]);
  });

  it("a task's delegation limits win over the config's", async () => {
    const c = await coordinator();
    const result = await c.run(task('deep', [d('r', { mode: 'recurse' }, ['reached', 'code'])], {}, { delegation: { maxDepth: 1 } }), strategy('hybrid'));
    expect(result.aggregatedResult.outputs['r']).toEqual({ reached: 1, code: 'DELEGATION_LIMIT' });
  });

  it('delegation.maxSubtasks bounds the delegated subtasks of a run: a request past it is refused whole, nothing of it runs', async () => {
    const c = await coordinator({ delegation: { maxDepth: 3, maxSubtasks: 3 } });
    const leaf = (value: number) => ({ agent: 'delegator', inputs: { mode: 'leaf', value }, expectedOutputs: ['out'] });
    const result = await c.run(task('count', [d('p', { mode: 'ask', requests: [[leaf(1), leaf(2)], [leaf(3), leaf(4)], [leaf(5)]] }, ['codes'])]), strategy('hybrid'));
    expect(result.aggregatedResult.outputs['p']).toEqual({ codes: [null, 'DELEGATION_LIMIT', null] });
    expect(result.aggregatedResult.subtasks.filter((s) => s.parentId === 'p')).toHaveLength(3);
  });

  it('a fan-out of 8 under maxConcurrentAgents 1 finishes: the waiting parent holds no slot', async () => {
    const c = await coordinator();
    const result = await c.run(task('narrow', [d('p', { mode: 'fanout', values: [1, 2, 3, 4, 5, 6, 7, 8] }, ['sum', 'outs'])]), strategy('sequential', { maxConcurrentAgents: 1 }));
    expect(result.success).toBe(true);
    expect(result.aggregatedResult.outputs['p']).toMatchObject({ sum: 72 });
  });

  it('nested fan-outs under a 2-agent cap finish (every running agent may be a waiting parent)', async () => {
    const c = await coordinator();
    const result = await c.run(task('nested', [d('p', { mode: 'fanout2', values: [1, 2, 3] }, ['sum', 'outs'])]), strategy('hybrid', { maxConcurrentAgents: 2 }));
    expect(result.success).toBe(true);
    expect(result.aggregatedResult.outputs['p']).toEqual({ sum: 24, outs: [4, 8, 12] });
    expect(result.aggregatedResult.subtasks.filter((s) => s.depth === 2)).toHaveLength(6);
  });

  it('when the memory budget cannot admit a child while every running agent waits for children, the run says so instead of hanging', async () => {
    const c = await coordinator({ resources: { maxTotalMemory: 300 } });
    const result = await c.run(task('tight', [d('p', { mode: 'fanout2', values: [1, 2] }, ['sum', 'outs'])]), strategy('hybrid', { maxConcurrentAgents: 4 }));
    expect(result.success).toBe(false);
    const refused = result.aggregatedResult.subtasks.filter((s) => s.error?.code === 'DELEGATION_LIMIT');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.error!.message).toContain('resources.maxTotalMemory 300');
    expect(processesUnder(c.root)).toEqual([]);
  });
});

describe('no escalation', () => {
  const leaf = { agent: 'delegator', inputs: { mode: 'leaf', value: 1 }, expectedOutputs: ['out'] };
  const asks: [string, Record<string, unknown>][] = [
    ['maxMemory', { maxMemory: 512 }],
    ['allowedTools', { allowedTools: ['read', 'execute'] }],
    ['requiresNetwork', { requiresNetwork: true }],
    ['networkAccessLevel', { networkAccessLevel: 'full' }],
    ['fileSystemAccess', { fileSystemAccess: 'full' }],
    ['maxToolCalls', { maxToolCalls: 1_000_000 }],
    ['maxFileOperations', { maxFileOperations: 1_000_000 }],
    ['maxDiskMB', { maxDiskMB: 100_000 }],
    ['isolationLevel', { isolationLevel: 'monitored' }],
    ['maxDuration', { maxDuration: 10_000_000 }],
  ];

  it('every request for more than the parent holds fails DELEGATION_DENIED naming it, and no child runs', async () => {
    const c = await coordinator();
    const requests = [...asks.map(([, constraints]) => ({ ...leaf, executionConstraints: constraints })), { ...leaf, executionConstraints: { maxMemory: 64, allowedTools: ['read'] } }];
    const result = await c.run(task('esc', [d('p', { mode: 'ask', requests }, ['codes'])]), strategy('hybrid'));
    expect(result.success).toBe(true);
    expect((result.aggregatedResult.outputs['p'] as { codes: unknown[] }).codes).toEqual([...asks.map(() => 'DELEGATION_DENIED'), null]);
    const children = result.aggregatedResult.subtasks.filter((s) => s.parentId === 'p');
    expect(children).toHaveLength(1);
    expect(children[0]!.status).toBe('succeeded');
  });

  it('a child holding what its read-only parent holds cannot write either (the file is absent)', async () => {
    const dir = openDir();
    const target = path.join(dir, 'child-wrote.txt');
    const c = await coordinator({ sandbox: { writePaths: [dir] } });
    const parent = d('p', { mode: 'parent-of', child: 'write', path: target }, ['code'], { executionConstraints: { maxMemory: 128 } });
    const distribution = await c.plan(task('ro', [parent]), strategy('hybrid'));
    // The parent is read-only: its specification says so, and its child inherits it.
    const spec = distribution.specifications['p']!;
    const readOnly = { ...distribution, specifications: { p: { ...spec, securityConstraints: { ...spec.securityConstraints, fileSystemAccess: 'read-only' as const } } } };
    const result = await c.execute(readOnly);
    expect(result.aggregatedResult.outputs['p']?.['code']).toBeTypeOf('string');
    expect(existsSync(target)).toBe(false);
  });
});

describe('failures and cancellation', () => {
  it("a failed child rejects its parent's delegate with the child's error, which the parent may catch", async () => {
    const c = await coordinator();
    const result = await c.run(task('catch', [d('p', { mode: 'fail-child' }, ['caught', 'childId'])]), strategy('hybrid', { failureHandling: 'fail-fast' }));
    expect(result.success).toBe(true);
    expect(result.aggregatedResult.outputs['p']).toEqual({ caught: 'AGENT_ERROR', childId: 'p~bad' });
    expect(report(result, 'p~bad').status).toBe('failed');
  });

  it('fail-fast cancels a subtree: the children see ctx.signal abort first, then end cancelled; no process is left', async () => {
    const dir = openDir();
    const c = await coordinator({ sandbox: { writePaths: [dir] } });
    const result = await c.run(
      task('ff', [
        d('p', { mode: 'fanout', values: [1, 2], leafMode: 'wait-abort', markerDir: dir, queue: 'started' }, ['sum', 'outs']),
        d('boom', { mode: 'fail-after', queue: 'started', count: 2 }, ['out']),
      ]),
      strategy('hybrid', { maxConcurrentAgents: 4, failureHandling: 'fail-fast', communicationProtocol: 'event-driven' }),
    );
    expect(result.success).toBe(false);
    expect(report(result, 'boom').status).toBe('failed');
    for (const id of ['p', 'p~0', 'p~1']) {
      expect(report(result, id).status).toBe('cancelled');
      expect(report(result, id).error?.code).toBe('CANCELLED');
    }
    // Each child saw its signal abort (and could still use its tools) before it was stopped.
    expect(readFileSync(path.join(dir, 'aborted-1'), 'utf8')).toBe('aborted p~0');
    expect(readFileSync(path.join(dir, 'aborted-2'), 'utf8')).toBe('aborted p~1');
    expect(processesUnder(c.root)).toEqual([]);
  });

  it('a hostile child that ignores the abort is killed after killGraceMs; its subtree ends cancelled, nothing is left', async () => {
    const c = await coordinator({ sandbox: { killGraceMs: 200 } });
    const distribution = await c.plan(task('hostile', [d('p', { mode: 'parent-of', child: 'ignore-abort' }, [])]), strategy('hybrid'));
    const running = c.execute(distribution);
    await waitFor(() => c.events.some((e) => e.type === 'subtask-start' && e.subtaskId === 'p~child'));
    const cancelled = await c.coordinator.cancel(distribution.distributionId, { subtaskId: 'p', reason: 'the host changed its mind' });
    expect(cancelled.tag).toBe('success');
    const result = await running;
    expect(result.success).toBe(false);
    expect(report(result, 'p').status).toBe('cancelled');
    expect(report(result, 'p~child').status).toBe('cancelled');
    expect(report(result, 'p~child').error?.message).toContain("parent subtask 'p' ended");
    expect(report(result, 'p').error?.message).toContain('the host changed its mind');
    expect(processesUnder(c.root)).toEqual([]);
  });
});

describe('the built-in decision-capable agent', () => {
  it("plan-results: plans one step per file it was given and carries each out on a basic sub-agent holding only 'read'", async () => {
    const dir = tempProject('qicoord-plan-');
    writeFiles(dir, { 'a.txt': 'one\ntwo\n', 'b.txt': 'x'.repeat(100), 'c.txt': 'a b c' });
    const c = await coordinator({ sandbox: { readPaths: [dir] } });
    const files = ['a.txt', 'b.txt', 'c.txt'].map((f) => ({ name: f.replace('.', '_'), value: path.join(dir, f) }));
    const result = await c.run(
      task('plan', [{ id: 'plan', agent: 'decision-capable', inputs: [...files, { name: 'parallel', value: 2 }], expectedOutputs: [{ name: 'plan-results' }], executionConstraints: { maxMemory: 128 } }]),
      strategy('hybrid'),
    );
    expect(result.success).toBe(true);
    const out = result.aggregatedResult.outputs['plan']!['plan-results'] as { steps: number; results: { path: string; lines: number }[]; totals: { lines: number; bytes: number } };
    expect(out.steps).toBe(3);
    // Largest first: b (100 bytes), then a, then c.
    expect(out.results.map((r) => path.basename(r.path))).toEqual(['b.txt', 'a.txt', 'c.txt']);
    expect(out.totals).toMatchObject({ lines: 1 + 3 + 1, bytes: 100 + 8 + 5 });
    const children = result.aggregatedResult.subtasks.filter((s) => s.parentId === 'plan');
    expect(children).toHaveLength(3);
    expect(children.every((s) => s.status === 'succeeded')).toBe(true);
  });
});
