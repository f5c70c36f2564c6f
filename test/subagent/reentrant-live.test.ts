/**
 * A reentrant plugin (`concurrency` above 1) on a real sandboxed agent: its subtasks run at once
 * in one process, up to its concurrency; a cancel reaches only the subtask it names; a subtask
 * past its deadline ends alone if its plugin returns within the grace, else the agent stops and
 * ends the subtasks beside it; a concurrency that is not an integer from 1 to 64 is refused when
 * the agent starts.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubTask } from '../../src/schemas/task.js';
import { NOT_STARTED, type AttemptOutcome, type SubAgent } from '../../src/subagent/agent.js';
import { err, ok } from '../helpers.js';
import { agentsUnderTest, liveSubtask, pidAlive, spec, testConfig, waitUntil } from '../sandbox-helpers.js';

const REENTRANT = path.join(import.meta.dirname, '../fixtures/plugins/reentrant.mjs');
const BAD = path.join(import.meta.dirname, '../fixtures/plugins/reentrant-bad.mjs');
const FORGER = path.join(import.meta.dirname, '../fixtures/plugins/forger-reentrant.mjs');
const FORGED_READY = path.join(import.meta.dirname, '../fixtures/plugins/forged-ready.mjs');

const agents = agentsUnderTest();

afterEach(async () => {
  expect(await agents.cleanup()).toBe(true);
});

const agentOf = (): Promise<SubAgent> => agents.spawn(REENTRANT, 'reentrant');
const subtask = (id: string, maxDuration?: number): SubTask => liveSubtask(id, 'out', maxDuration);

const outOf = (outcome: AttemptOutcome): Record<string, unknown> => {
  expect(outcome).not.toBe(NOT_STARTED);
  return ok(outcome as Exclude<AttemptOutcome, typeof NOT_STARTED>).outputs['out'] as Record<string, unknown>;
};
const errorOf = (outcome: AttemptOutcome) => {
  expect(outcome).not.toBe(NOT_STARTED);
  return err(outcome as Exclude<AttemptOutcome, typeof NOT_STARTED>);
};

describe('a reentrant plugin on a real agent', () => {
  it('runs its subtasks at once in one process, up to its concurrency', async () => {
    const agent = await agentOf();
    expect(agent.concurrency).toBe(4);
    // Each call returns only once four are in flight together: with one at a time, none would.
    const ids = ['a', 'b', 'c', 'd'];
    const running = ids.map((id) => agent.run(subtask(id), { gather: 4 }, 1));
    expect(agent.runningCount).toBe(4);
    expect(agent.status).toBe('executing');
    const outs = (await Promise.all(running)).map(outOf);
    expect(outs.map((o) => o['id'])).toEqual(ids);
    expect(new Set(outs.map((o) => o['process'])).size).toBe(1);
    expect(outs.every((o) => o['peak'] === 4)).toBe(true);
    expect(agent.status).toBe('ready');
    expect(agent.instance.performanceMetrics.tasksCompleted).toBe(4);
    // A fifth while four run is refused: the run never leases more than the concurrency.
    const full = ['e', 'f', 'g', 'h'].map((id) => agent.run(subtask(id), { mode: 'until-aborted' }, 1));
    const fifth = await agent.run(subtask('i'), {}, 1);
    expect(errorOf(fifth).code).toBe('INTERNAL');
    for (const id of ['e', 'f', 'g', 'h']) agent.cancel('test over', id);
    expect((await Promise.all(full)).map(outOf).map((o) => o['aborted'])).toEqual([true, true, true, true]);
  });

  it('a cancel reaches only the subtask it names; the agent runs on', async () => {
    const agent = await agentOf();
    const x = agent.run(subtask('x'), { mode: 'until-aborted' }, 1);
    const y = agent.run(subtask('y'), { mode: 'until-aborted' }, 1);
    agent.cancel('host cancelled x', 'x');
    expect(outOf(await x)).toEqual({ id: 'x', aborted: true });
    expect(agent.runs('y')).toBe(true);
    expect(agent.runs('x')).toBe(false);
    agent.cancel('host cancelled y', 'y');
    expect(outOf(await y)).toEqual({ id: 'y', aborted: true });
    expect(agent.alive).toBe(true);
    expect(agent.status).toBe('ready');
  });

  it('a plugin error fails its own subtask only', async () => {
    const agent = await agentOf();
    const waiting = agent.run(subtask('w'), { mode: 'until-aborted' }, 1);
    const thrown = await agent.run(subtask('t'), { mode: 'throw' }, 1);
    expect(errorOf(thrown)).toMatchObject({ code: 'AGENT_ERROR' });
    expect(agent.runs('w')).toBe(true);
    agent.cancel('done', 'w');
    expect(outOf(await waiting)).toEqual({ id: 'w', aborted: true });
    expect(agent.alive).toBe(true);
  });

  it('a subtask past its deadline fails TIME_LIMIT and its plugin is told; returning within the grace, it leaves the agent running the others', async () => {
    const agent = await agentOf();
    const beside = agent.run(subtask('b'), { mode: 'until-aborted' }, 1);
    const late = await agent.run(subtask('late', 300), { mode: 'until-aborted' }, 1);
    expect(errorOf(late)).toMatchObject({ code: 'TIME_LIMIT', context: { subtaskId: 'late' } });
    // Its call returns once its signal aborts (the result is dropped); until then it holds its place.
    expect(await waitUntil(() => agent.runningCount === 1)).toBe(true);
    expect(agent.runs('b')).toBe(true);
    expect(agent.alive).toBe(true);
    agent.cancel('test over', 'b');
    expect(outOf(await beside)).toEqual({ id: 'b', aborted: true });
    expect(agent.alive).toBe(true);
    expect(agent.status).toBe('ready');
  });

  it('one that does not return within killGraceMs after its deadline stops the agent: the ones beside it fail AGENT_CRASHED naming it', async () => {
    const agent = await agents.spawn(REENTRANT, 'reentrant', testConfig({ sandbox: { killGraceMs: 300 } }));
    const beside = [agent.run(subtask('b1'), { mode: 'until-aborted' }, 1), agent.run(subtask('b2'), { mode: 'hang' }, 1)];
    const late = await agent.run(subtask('late', 300), { mode: 'hang' }, 1);
    expect(errorOf(late)).toMatchObject({ code: 'TIME_LIMIT', context: { subtaskId: 'late' } });
    for (const [i, outcome] of (await Promise.all(beside)).entries()) {
      expect(errorOf(outcome)).toMatchObject({ code: 'AGENT_CRASHED', context: { subtaskId: `b${i + 1}`, late: 'late', cause: 'TIME_LIMIT' } });
    }
    expect(await waitUntil(() => !agent.alive && !pidAlive(agent.pid))).toBe(true);
  });

  it('a message may name a subtask running beside; one naming any other subtask stops the agent (INVALID_MESSAGE) and fails all it runs', async () => {
    const agent = await agents.spawn(FORGER, 'forge-reentrant');
    const waiting = agent.run(subtask('w'), { attack: 'wait' }, 1);
    // Progress for the subtask beside it: the agent's own, so accepted.
    const beside = await agent.run(subtask('f1'), { attack: 'forge', frames: [{ type: 'progress', subtaskId: 'w', fraction: 0.5 }] }, 1);
    expect(outOf(beside)).toBe('forge');
    expect(agent.alive).toBe(true);
    // Progress for a subtask this agent does not run: a forged identity.
    const forged = await agent.run(subtask('f2'), { attack: 'forge', frames: [{ type: 'progress', subtaskId: 'victim', fraction: 0.5 }] }, 1);
    expect(errorOf(forged).code).toBe('INVALID_MESSAGE');
    expect(errorOf(await waiting).code).toBe('INVALID_MESSAGE');
    expect(await waitUntil(() => !agent.alive && !pidAlive(agent.pid))).toBe(true);
  });

  it('sandbox.maxSubtasksPerAgent caps what the plugin declares, in the child too; 1 turns reentrancy off', async () => {
    const two = await agents.spawn(REENTRANT, 'reentrant', testConfig({ sandbox: { maxSubtasksPerAgent: 2 } }));
    expect(two.concurrency).toBe(2);
    const outs = (await Promise.all(['a', 'b'].map((id) => two.run(subtask(id), { gather: 2 }, 1)))).map(outOf);
    expect(outs.map((o) => o['peak'])).toEqual([2, 2]);
    await agents.cleanup();
    const one = await agents.spawn(REENTRANT, 'reentrant', testConfig({ sandbox: { maxSubtasksPerAgent: 1 } }));
    expect(one.concurrency).toBe(1);
    expect(outOf(await one.run(subtask('c'), {}, 1))).toMatchObject({ id: 'c', peak: 1 });
  });

  it("a plugin forging the runtime's ready with a higher concurrency gets no more than the cap", async () => {
    const forged = await agents.spawn(FORGED_READY, 'forged-ready', testConfig({ sandbox: { maxSubtasksPerAgent: 2 } }));
    expect(forged.concurrency).toBe(2);
  });

  it('a concurrency that is not an integer from 1 to 64 is refused at start (PLUGIN_INVALID); no process is left', async () => {
    const started = await agents.factory().spawn({ ...spec({ plugin: BAD }), capabilities: ['reentrant-bad'] });
    expect(err(started)).toMatchObject({ code: 'PLUGIN_INVALID' });
    expect(err(started).message).toContain('concurrency must be an integer from 1 to 64');
  });
});
