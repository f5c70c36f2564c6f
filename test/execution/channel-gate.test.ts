/**
 * The plan's declared channels enforced on a run's messages, with no processes: the gate over
 * planned lanes, and channel operations through a real ChannelRouter refused before routing.
 */
import { describe, expect, it } from 'vitest';
import { ChannelRouter } from '../../src/channels/index.js';
import { planChannels } from '../../src/distribution/plans.js';
import type { AgentAllocation } from '../../src/distribution/types.js';
import { ChannelGate } from '../../src/execution/channel-gate.js';
import { channelOperation } from '../../src/execution/channel-ops.js';
import { CoordinationStrategy } from '../../src/schemas/strategy.js';
import type { ChannelRequest } from '../../src/subagent/agent.js';
import type { SyncHub } from '../../src/sync/index.js';

const lane = (agentId: string, dependencies: string[]): AgentAllocation => ({ agentId, dependencies, assignedSubTasks: [], priority: 1, plugin: 'p', specification: {} as AgentAllocation['specification'], resourceAllocation: {} as AgentAllocation['resourceAllocation'] });
// lane-1 and lane-2 feed lane-3; lane-4 stands alone.
const lanes = [lane('lane-1', []), lane('lane-2', []), lane('lane-3', ['lane-1', 'lane-2']), lane('lane-4', [])];
const index = new Map(lanes.map((l, i) => [l.agentId, i]));
const direct = CoordinationStrategy.parse({ type: 'hybrid', maxConcurrentAgents: 4, failureHandling: 'graceful-degradation', communicationProtocol: 'direct', synchronizationPoints: [] });

describe('ChannelGate', () => {
  it('direct protocol: producer and consumer lanes may message each other, both ways; other lanes may not', () => {
    const gate = new ChannelGate(planChannels(lanes, direct), index);
    expect(gate.direct('a', 0, 2, 'c').tag).toBe('success');
    expect(gate.direct('c', 2, 1, 'b').tag).toBe('success');
    expect(gate.direct('d', 3, 3, 'd2').tag).toBe('success');
    expect(gate.direct('a', 0, undefined, 'nobody').tag).toBe('success');
    const denied = gate.direct('a', 0, 1, 'b');
    expect(denied).toMatchObject({ tag: 'failure', error: { code: 'CHANNEL_DENIED', category: 'AUTHORIZATION', context: { from: 'a', to: 'b' } } });
    expect(gate.broadcast('a', 0, 'topic').tag).toBe('success');
    expect(gate.broadcast('d', 3, 'topic')).toMatchObject({ tag: 'failure', error: { code: 'CHANNEL_DENIED' } });
  });

  it('a plan that declares no channel leaves messaging open; event-driven connects every lane', () => {
    const open = new ChannelGate([], index);
    expect(open.direct('a', 0, 3, 'd').tag).toBe('success');
    expect(open.broadcast('d', 3, 't').tag).toBe('success');
    const events = new ChannelGate(planChannels(lanes, { ...direct, communicationProtocol: 'event-driven' }), index);
    expect(events.direct('a', 0, 3, 'd').tag).toBe('success');
    expect(events.broadcast('d', 3, 't').tag).toBe('success');
  });
});

describe('channelOperation', () => {
  it('refuses a send, publish or queue push along no declared channel before the router sees it', async () => {
    const events: unknown[] = [];
    const router = new ChannelRouter({ maxMessageBytes: 1024, onEvent: (e) => events.push(e) });
    router.declareSubtasks(['a', 'b', 'c', 'd']);
    const laneOf = (id: string): number | undefined => ({ a: 0, b: 1, c: 2, d: 3 })[id];
    const check = { gate: new ChannelGate(planChannels(lanes, direct), index), laneOf };
    const hub = {} as SyncHub;
    const req = (op: 'send' | 'publish' | 'queue-push', target: string): ChannelRequest => ({ type: 'channel', callId: 1, op, target, body: 1 }) as ChannelRequest;
    expect(await channelOperation(router, hub, check, 'agent-a', 'a', req('send', 'b'))).toMatchObject({ tag: 'failure', error: { code: 'CHANNEL_DENIED' } });
    expect(await channelOperation(router, hub, check, 'agent-d', 'd', req('publish', 'news'))).toMatchObject({ tag: 'failure', error: { code: 'CHANNEL_DENIED' } });
    expect(await channelOperation(router, hub, check, 'agent-d', 'd', req('queue-push', 'jobs'))).toMatchObject({ tag: 'failure', error: { code: 'CHANNEL_DENIED' } });
    expect(events).toEqual([]);
    expect((await channelOperation(router, hub, check, 'agent-a', 'a', req('send', 'c'))).tag).toBe('success');
    expect((await channelOperation(router, hub, check, 'agent-a', 'a', req('queue-push', 'jobs'))).tag).toBe('success');
    expect(events).toHaveLength(2);
    router.close();
  });
});
