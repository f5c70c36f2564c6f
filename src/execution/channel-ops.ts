import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { ChannelRouter } from '../channels/index.js';
import { qiError } from '../errors/catalogue.js';
import type { ChannelRequest } from '../subagent/agent.js';
import type { SyncHub } from '../sync/index.js';
import type { ChannelGate } from './channel-gate.js';

/** The plan's channels, and the lanes of a sender and a target (a subtask or agent id). */
export interface ChannelCheck {
  readonly gate: ChannelGate;
  readonly laneOf: (target: string) => number | undefined;
}

/**
 * One channel operation of an agent, carried out on the run's router (or, for `restore`, the
 * sync hub's checkpoints). `subtaskId` is the subtask the coordinator runs on the agent (the
 * sender, the restorer), never the child's claim.
 */
export async function channelOperation(router: ChannelRouter, hub: SyncHub, check: ChannelCheck, agentId: string, subtaskId: string, m: ChannelRequest): Promise<Result<unknown, QiError>> {
  const target = m.target ?? '';
  const lane = check.laneOf(subtaskId) ?? -1;
  switch (m.op) {
    case 'send': {
      const allowed = check.gate.direct(subtaskId, lane, check.laneOf(target), target);
      return allowed.tag === 'failure' ? allowed : router.send(subtaskId, target, m.body);
    }
    case 'publish': {
      const allowed = check.gate.broadcast(subtaskId, lane, target);
      return allowed.tag === 'failure' ? allowed : router.publish(subtaskId, target, m.body);
    }
    case 'subscribe':
      return router.subscribe(agentId, target);
    case 'unsubscribe':
      router.unsubscribe(agentId, target);
      return success(null);
    case 'queue-push': {
      const allowed = check.gate.broadcast(subtaskId, lane, target);
      return allowed.tag === 'failure' ? allowed : router.queuePush(subtaskId, target, m.body);
    }
    case 'queue-pull':
      return router.queuePull(agentId, target, m.timeoutMs);
    case 'queue-ack':
      return router.queueAck(agentId, target, String(m.body));
    case 'restore':
      return success((await hub.restore(subtaskId)) ?? null);
    default:
      return failure(qiError('NOT_FOUND', `channel operation '${m.op}' is not supported`, { op: m.op }));
  }
}
