import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { ChannelRouter } from '../channels/index.js';
import { qiError } from '../errors/catalogue.js';
import type { ChannelRequest } from '../subagent/agent.js';
import type { SyncHub } from '../sync/index.js';

/**
 * One channel operation of an agent, carried out on the run's router (or, for `restore`, the
 * sync hub's checkpoints). `subtaskId` is the subtask the coordinator runs on the agent (the
 * sender, the restorer), never the child's claim.
 */
export async function channelOperation(router: ChannelRouter, hub: SyncHub, agentId: string, subtaskId: string, m: ChannelRequest): Promise<Result<unknown, QiError>> {
  const target = m.target ?? '';
  switch (m.op) {
    case 'send':
      return router.send(subtaskId, target, m.body);
    case 'publish':
      return router.publish(subtaskId, target, m.body);
    case 'subscribe':
      return router.subscribe(agentId, target);
    case 'unsubscribe':
      router.unsubscribe(agentId, target);
      return success(null);
    case 'queue-push':
      return router.queuePush(subtaskId, target, m.body);
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
