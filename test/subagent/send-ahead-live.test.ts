/**
 * Subtasks sent ahead to an agent (`dispatch.prefetch`), on real sandboxed agents: they run one
 * at a time in the order sent, each with its deadline counted from its own start; what waits
 * behind a subtask that runs long, or waits on other subtasks, is taken back unstarted; a cancelled queued subtask comes back
 * without touching the running one, and one the child had already begun sees its abort and, if
 * it ignores it, is stopped after killGraceMs; an agent that dies returns what was queued; and a child may
 * not claim to have dropped a subtask it was never asked to give back.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubTask } from '../../src/schemas/task.js';
import { NOT_STARTED, type AttemptOutcome, type SubAgent } from '../../src/subagent/agent.js';
import { ok } from '../helpers.js';
import { STEPS_PLUGIN, type Step } from '../live-helpers.js';
import { agentsUnderTest, liveSubtask, pidAlive, testConfig, waitUntil } from '../sandbox-helpers.js';

const FORGER = path.join(import.meta.dirname, '../fixtures/plugins/forger.mjs');
const BEGINS = path.join(import.meta.dirname, '../fixtures/plugins/begins-queued.mjs');

const agents = agentsUnderTest();

afterEach(async () => {
  expect(await agents.cleanup()).toBe(true);
});

const agentOf = (plugin: string, capability: string): Promise<SubAgent> => agents.spawn(plugin, capability);
const subtask = (id: string, output = 'result'): SubTask => liveSubtask(id, output);

/** Runs `steps` on the agent (at once, or queued behind what it runs). */
function run(agent: SubAgent, id: string, steps: readonly Step[]): Promise<AttemptOutcome> {
  return agent.run(subtask(id), { steps }, 1);
}

/**
 * Blocks this process's event loop until `file` exists (false after `maxMs`): meanwhile it reads
 * no agent's message, so what an agent does in that time the coordinator learns only afterwards.
 */
function blockUntilExists(file: string, maxMs = 20_000): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + maxMs;
  while (!existsSync(file)) {
    if (Date.now() > until) return false;
    Atomics.wait(cell, 0, 0, 2);
  }
  return true;
}

/**
 * Sends `first` and `second` (queued behind it), then lets the child end `first` and begin
 * `second` while this process reads nothing, and cancels `second` as the coordinator still
 * counts it queued: the race where the cancel meets a subtask the child had already begun.
 */
async function cancelAfterChildBegan(agent: SubAgent, then: string): Promise<{ first: AttemptOutcome; second: Promise<AttemptOutcome> }> {
  const first = agent.run(subtask('first'), { then: 'return' }, 1);
  const second = agent.run(subtask('second'), { then }, 1);
  expect(agent.queued).toBe(1);
  // The frame sent ahead goes out at the end of this turn.
  await new Promise((resolve) => setImmediate(resolve));
  expect(blockUntilExists(path.join(agent.instance.workspace, 'began-second'))).toBe(true);
  expect(agent.cancelQueued('second', 'host cancelled it')).toBe(true);
  return { first: await first, second };
}

/** Blocks its subtask until the agent is stopped: it waits for a direct message nobody sends. */
const BLOCK: Step[] = [{ do: 'receive' }];

describe('subtasks sent ahead to an agent (real agents)', () => {
  it('run one at a time in the order sent; each begins when the one before it ended', async () => {
    const agent = await agentOf(STEPS_PLUGIN, 'steps');
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const outcomes = await Promise.all(ids.map((id) => run(agent, id, [{ do: 'inputs' }])));
    // The first runs at once; one queued behind a subtask that happened to run long would be taken back unstarted.
    expect(outcomes[0]).not.toBe(NOT_STARTED);
    let lastEnd = 0;
    let ran = 0;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome === NOT_STARTED) continue;
      const value = ok(outcome);
      expect((value.outputs['result'] as { subtask: string }).subtask).toBe(ids[i]);
      expect(value.startedAt).toBeGreaterThanOrEqual(lastEnd);
      lastEnd = value.endedAt;
      ran++;
    }
    expect(agent.instance.performanceMetrics.tasksCompleted).toBe(ran);
    expect(agent.status).toBe('ready');
  });

  it('what waits behind a subtask that runs long is taken back unstarted; the running one goes on', async () => {
    const agent = await agentOf(STEPS_PLUGIN, 'steps');
    const blocked = run(agent, 'long', BLOCK);
    const queued = [run(agent, 'q1', [{ do: 'inputs' }]), run(agent, 'q2', [{ do: 'inputs' }])];
    expect(agent.queued).toBe(2);
    expect(await Promise.all(queued)).toEqual([NOT_STARTED, NOT_STARTED]);
    expect(agent.queued).toBe(0);
    // The long one still runs on the live agent; it ends when the agent is stopped.
    expect(agent.alive).toBe(true);
    expect(agent.status).toBe('executing');
    await agent.terminate('test over');
    expect((await blocked) === NOT_STARTED).toBe(false);
  });

  it('one that waits at a sync point has its queue taken back at once (it may be what the point waits for)', async () => {
    const agent = await agentOf(STEPS_PLUGIN, 'steps');
    // The factory's agent has no sync points: the arrival is answered at once (NOT_FOUND, caught),
    // but only after the coordinator has asked the queued subtask back, and the channel keeps that order.
    const first = run(agent, 'first', [{ do: 'sync', point: 'p', catch: true }, { do: 'inputs' }]);
    const second = run(agent, 'second', [{ do: 'inputs' }]);
    expect(await second).toBe(NOT_STARTED);
    const done = await first;
    expect(done !== NOT_STARTED && done.tag === 'success' && done.value.outputs['result']).toMatchObject({ log: [{ sync: 'p', error: 'NOT_FOUND' }, { inputs: {} }] });
    expect(agent.alive).toBe(true);
  });

  it('a cancelled queued subtask comes back unstarted and the agent runs on; the running one still succeeds', async () => {
    const agent = await agentOf(STEPS_PLUGIN, 'steps');
    const first = run(agent, 'first', [{ do: 'sleep', ms: 300 }]);
    const second = run(agent, 'second', [{ do: 'inputs' }]);
    expect(agent.cancelQueued('second', 'host cancelled it')).toBe(true);
    expect(agent.cancelQueued('first', 'not queued')).toBe(false);
    expect(await second).toBe(NOT_STARTED);
    const done = await first;
    expect(done !== NOT_STARTED && done.tag === 'success').toBe(true);
    expect(agent.alive).toBe(true);
    expect(agent.status).toBe('ready');
    // And the agent takes the next one as usual.
    const next = await run(agent, 'third', [{ do: 'inputs' }]);
    expect(next !== NOT_STARTED && next.tag === 'success').toBe(true);
  });

  it('a cancelled queued subtask the child had already begun sees ctx.signal abort and ends; the agent runs on', async () => {
    const agent = await agentOf(BEGINS, 'begins-queued');
    const { first, second } = await cancelAfterChildBegan(agent, 'honor-abort');
    expect(first !== NOT_STARTED && first.tag === 'success').toBe(true);
    const cancelled = await second;
    expect(cancelled !== NOT_STARTED && cancelled.tag === 'success' && cancelled.value.outputs['result']).toEqual({ aborted: true });
    expect(agent.alive).toBe(true);
    expect(agent.status).toBe('ready');
  });

  it('one that ignores the abort is stopped after killGraceMs (CANCELLED) and its process is gone', async () => {
    const agent = await agentOf(BEGINS, 'begins-queued');
    const pid = agent.pid;
    const { first, second } = await cancelAfterChildBegan(agent, 'ignore-abort');
    expect(first !== NOT_STARTED && first.tag === 'success').toBe(true);
    const stopped = await second;
    expect(stopped !== NOT_STARTED && stopped.tag === 'failure' && stopped.error.code).toBe('CANCELLED');
    expect(stopped !== NOT_STARTED && stopped.tag === 'failure' && stopped.error.message).toContain('did not return within killGraceMs');
    expect(await waitUntil(() => !pidAlive(pid) && !agent.alive)).toBe(true);
  });

  it('an agent that dies fails its running subtask and returns the queued ones unstarted', async () => {
    const agent = await agentOf(STEPS_PLUGIN, 'steps');
    const crashing = run(agent, 'crash', [{ do: 'sleep', ms: 50 }, { do: 'exit' }]);
    const queued = [run(agent, 'q1', [{ do: 'inputs' }]), run(agent, 'q2', [{ do: 'inputs' }])];
    const crashed = await crashing;
    expect(crashed !== NOT_STARTED && crashed.tag === 'failure' && crashed.error.code).toBe('AGENT_CRASHED');
    expect(await Promise.all(queued)).toEqual([NOT_STARTED, NOT_STARTED]);
    expect(await waitUntil(() => !agent.alive)).toBe(true);
  });

  it('a child that claims it dropped a subtask nobody asked back is stopped (INVALID_MESSAGE); the queued one comes back unstarted', async () => {
    const agent = await agentOf(FORGER, 'forge');
    const forging = agent.run(subtask('evil', 'data'), { attack: 'forge', frames: [{ type: 'unqueued', subtaskId: 'victim' }], sync: { point: 'never' } }, 1);
    const victim = agent.run(subtask('victim', 'data'), { attack: 'echo', value: 'should not run here' }, 1);
    const forged = await forging;
    expect(forged !== NOT_STARTED && forged.tag === 'failure' && forged.error.code).toBe('INVALID_MESSAGE');
    expect(await victim).toBe(NOT_STARTED);
    expect(await waitUntil(() => !agent.alive)).toBe(true);
  });
});

describe('the rate cap counts what an agent sends of its own accord (real agents)', () => {
  it('an agent answering many short subtasks fast is not a flood; one sending log records past the cap is stopped', async () => {
    const agent = await agents.spawn(FORGER, 'forge', testConfig({ sandbox: { maxMessagesPerSecond: 20 } }));
    // 200 results in a burst, five times the cap's bucket of 40: each answers an execute.
    const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => agent.run(subtask(`q${i}`, 'data'), { attack: 'echo', value: i }, 1)));
    expect(outcomes.every((o) => o === NOT_STARTED || o.tag === 'success')).toBe(true);
    expect(agent.alive).toBe(true);
    // Log records are the agent's own: 100 of them at once cross the cap.
    const flood = await agent.run(subtask('flood', 'data'), { attack: 'flood', records: 100, bytes: 10 }, 1);
    expect(flood !== NOT_STARTED && flood.tag === 'failure' && flood.error).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(flood !== NOT_STARTED && flood.tag === 'failure' && flood.error.message).toContain('messages per second');
    expect(await waitUntil(() => !agent.alive)).toBe(true);
  });
});
