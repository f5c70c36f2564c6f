/**
 * The channel binds identity (issue 9, item 5): an agent speaks only for the subtask it runs.
 * A hostile plugin (`forger.mjs`) writes raw frames to its channel naming other subtasks, as an
 * attacker would. Each test asserts that the effect did not happen — the barrier did not
 * release early, honest voters got the honest outcome, the checkpoint was not revealed, the
 * recipient got no message "from" another subtask — and that the forger failed with
 * INVALID_MESSAGE while everything else ran to its honest end. Orderings are forced with sync
 * points and dependencies, never with timing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CoordinationResult } from '../src/execution/types.js';
import type { SynchronizationPoint } from '../src/schemas/strategy.js';
import type { SubTaskInput } from '../src/schemas/task.js';
import type { SubAgent } from '../src/subagent/agent.js';
import type { SubAgentFactory } from '../src/subagent/factory.js';
import { safeStringify } from '../src/util/safe-json.js';
import { err, ok } from './helpers.js';
import { eventsOf, liveCoordinator, output, point, report, STEPS_PLUGIN, strategy, sub, task, type LiveCoordinator, type Step } from './live-helpers.js';
import { attack, makeFactory, pidAlive, spec, waitUntil } from './sandbox-helpers.js';

const FORGER = path.join(import.meta.dirname, 'fixtures/plugins/forger.mjs');

let live: LiveCoordinator | undefined;
let factories: SubAgentFactory[] = [];
let pids: number[] = [];

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
  await Promise.all(factories.map((f) => f.close()));
  factories = [];
  expect(await waitUntil(() => pids.every((p) => !pidAlive(p)))).toBe(true);
  pids = [];
});

/** A subtask run by the forger plugin. */
function forger(id: string, inputs: Record<string, unknown>): SubTaskInput {
  return { id, agent: 'forger', inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })), expectedOutputs: [{ name: 'data' }], executionConstraints: { maxMemory: 128 } };
}

async function runWith(points: readonly SynchronizationPoint[], subtasks: readonly SubTaskInput[], after: Readonly<Record<string, readonly string[]>> = {}): Promise<CoordinationResult> {
  live = await liveCoordinator({ plugins: [STEPS_PLUGIN, FORGER] });
  return live.run(task('identity', subtasks, after), strategy('hybrid', { synchronizationPoints: [...points], maxConcurrentAgents: 3 }));
}

function synced(result: CoordinationResult, id: string, pointId: string): unknown {
  return output(result, id).log.find((entry) => entry['sync'] === pointId)?.['value'];
}

function expectForgerFailed(result: CoordinationResult, id = 'evil'): void {
  expect(report(result, id)).toMatchObject({ status: 'failed', error: { code: 'INVALID_MESSAGE', category: 'VALIDATION' } });
  expect(result.aggregatedResult.outputs[id]).toBeUndefined();
}

describe('an agent cannot speak for another subtask (coordinator, real agents)', () => {
  it('barrier: forged arrivals for the others do not release it early; only real arrivals count', async () => {
    const meet: Step = { do: 'sync', point: 'meet' };
    const result = await runWith(
      [point('meet', 'barrier')],
      [
        sub('a', [meet]),
        sub('b', [meet]),
        forger('evil', {
          attack: 'forge',
          frames: ['a', 'b'].map((other, i) => ({ type: 'sync-arrive', callId: 900 + i, subtaskId: other, pointId: 'meet' })),
          sync: { point: 'meet' },
        }),
      ],
    );
    for (const id of ['a', 'b']) {
      expect(report(result, id).status).toBe('succeeded');
      expect((synced(result, id, 'meet') as { arrived: string[] }).arrived.sort()).toEqual(['a', 'b']);
    }
    const arrivals = eventsOf(live!.events, 'sync').filter((e) => e.event['pointId'] === 'meet' && e.event['type'] === 'sync-arrive');
    expect(arrivals.map((e) => e.event['subtaskId']).sort()).toEqual(['a', 'b']);
    for (const e of arrivals) expect(e.event['agentId']).toBe(report(result, String(e.event['subtaskId'])).agentId);
    expectForgerFailed(result);
  });

  it('decision: an agent cannot vote for others; honest voters get the honest outcome', async () => {
    const vote: Step = { do: 'sync', point: 'choose', value: 'honest' };
    const result = await runWith(
      [point('choose', 'decision')],
      [
        sub('a', [vote]),
        sub('b', [vote]),
        forger('evil', {
          attack: 'forge',
          frames: ['a', 'b'].map((other, i) => ({ type: 'sync-arrive', callId: 900 + i, subtaskId: other, pointId: 'choose', value: 'forged' })),
          sync: { point: 'choose', value: 'forged' },
        }),
      ],
    );
    for (const id of ['a', 'b']) expect(synced(result, id, 'choose')).toBe('honest');
    expectForgerFailed(result);
  });

  it("restore: another subtask's checkpoint is not revealed", async () => {
    const secret = 'victim-secret-7f3a';
    const result = await runWith(
      [point('save', 'checkpoint', { participatingAgents: ['victim'] })],
      [sub('victim', [{ do: 'sync', point: 'save', value: { secret } }]), forger('evil', { attack: 'steal', victim: 'victim' })],
      { evil: ['victim'] },
    );
    expect(report(result, 'victim').status).toBe('succeeded');
    expect(safeStringify(result.aggregatedResult.outputs['evil'])).not.toContain(secret);
    expect(safeStringify(report(result, 'evil'))).not.toContain(secret);
    expect(safeStringify(live!.events.filter((e) => e.type !== 'sync'))).not.toContain(secret);
    expectForgerFailed(result);
  });

  it('send: the recipient never gets a message "from" a subtask that did not send it', async () => {
    const result = await runWith(
      [point('go', 'barrier', { participatingAgents: ['trusted', 'evil'] })],
      [
        sub('recipient', [{ do: 'receive', count: 1 }]),
        sub('trusted', [{ do: 'sync', point: 'go' }, { do: 'send', to: 'recipient', body: 'real' }]),
        forger('evil', {
          attack: 'forge',
          frames: [{ type: 'channel', callId: 900, subtaskId: 'trusted', op: 'send', target: 'recipient', body: 'forged' }],
          sync: { point: 'go' },
        }),
      ],
    );
    expect(report(result, 'trusted').status).toBe('succeeded');
    expect(output(result, 'recipient').log).toEqual([{ received: [{ from: 'trusted', body: 'real' }] }]);
    expectForgerFailed(result);
  });
});

describe('every message naming a subtask is checked (one agent, real process)', () => {
  async function agentWith(factory = makeFactory()): Promise<SubAgent> {
    factories.push(factory);
    const agent = ok(await factory.spawn(spec({ plugin: FORGER })));
    pids.push(agent.pid);
    return agent;
  }

  async function run(agent: SubAgent, inputs: Record<string, unknown>) {
    const a = attack(String(inputs['attack']), inputs);
    return agent.execute({ ...a.subtask, agentRequirements: { ...a.subtask.agentRequirements, capabilities: ['forge'] } }, a.inputs);
  }

  const frames: Record<string, Record<string, unknown>> = {
    progress: { type: 'progress', subtaskId: 'other', fraction: 0.5 },
    log: { type: 'log', level: 'error', msg: 'as other', subtaskId: 'other' },
    'tool-call': { type: 'tool-call', callId: 900, subtaskId: 'other', name: 'write', args: { path: 'forged.txt', content: 'x' } },
    'sync-arrive': { type: 'sync-arrive', callId: 900, subtaskId: 'other', pointId: 'p' },
    channel: { type: 'channel', callId: 900, subtaskId: 'other', op: 'send', target: 'x', body: 1 },
    delegate: { type: 'delegate', callId: 900, subtaskId: 'other', requests: [{ agent: 'forger', inputs: { attack: 'echo', value: 'as other' } }] },
    result: { type: 'result', subtaskId: 'other', outputs: { data: 'forged' } },
    error: { type: 'error', subtaskId: 'other', error: { code: 'AGENT_ERROR', category: 'BUSINESS', message: 'forged', context: {} } },
  };

  it.each(Object.keys(frames))("a '%s' naming another subtask fails the agent INVALID_MESSAGE; a bystander is unharmed", async (type) => {
    const factory = makeFactory();
    const agent = await agentWith(factory);
    const bystander = await agentWith(factory);
    const e = err(await run(agent, { attack: 'forge', frames: [frames[type]] }));
    expect(e).toMatchObject({ code: 'INVALID_MESSAGE', category: 'VALIDATION' });
    expect(e.message).toContain("naming subtask 'other'");
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
    expect(existsSync(path.join(agent.instance.workspace, 'forged.txt'))).toBe(false);
    expect(ok(await run(bystander, { attack: 'echo', value: 'intact' })).outputs).toEqual({ data: 'intact' });
  });

  it('a message naming a subtask during start-up fails the start with INVALID_MESSAGE', async () => {
    const factory = makeFactory();
    factories.push(factory);
    const e = err(await factory.spawn(spec({ plugin: path.join(import.meta.dirname, 'fixtures/plugins/forger-at-load.mjs') })));
    expect(e).toMatchObject({ code: 'INVALID_MESSAGE', category: 'VALIDATION' });
    expect(e.message).toContain("naming subtask 'other' while it runs no subtask");
  });

  it('a message naming a subtask while the agent runs none fails the idle agent', async () => {
    const agent = await agentWith();
    const frame = { type: 'sync-arrive', callId: 900, subtaskId: 'attack-forge', pointId: 'p' };
    // The frame goes out after the result: the agent is idle when it arrives.
    expect(ok(await run(agent, { attack: 'forge', frames: [], after: [frame] })).outputs).toEqual({ data: 'sent' });
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
    expect(agent.status).toBe('failed');
    expect(agent.instance.endReason).toContain('INVALID_MESSAGE');
  });

  it("an honest plugin's leftover ctx calls after its result stay in the child; the agent runs on", async () => {
    const agent = await agentWith();
    expect(ok(await run(agent, { attack: 'sloppy' })).outputs).toEqual({ data: 'done' });
    // The plugin's timers fire after the result; their ctx calls must not reach the coordinator.
    expect(await waitUntil(() => existsSync(path.join(agent.instance.workspace, 'late-done')))).toBe(true);
    expect(ok(await run(agent, { attack: 'echo', value: 'next' })).outputs).toEqual({ data: 'next' });
    expect(agent.status).toBe('ready');
  });
});
