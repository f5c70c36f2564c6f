/**
 * The router's work queues by name: validation, capacity, statistics and events around {@link WorkQueue}.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { checkName, encodeBody } from './payload.js';
import type { ChannelEvent, ChannelStats, QueueMessage } from './types.js';
import { WorkQueue } from './work-queue.js';

/** What the hub shares with its router. */
export interface QueueHubContext {
  readonly maxBytes: number;
  readonly maxBuffered: number;
  readonly totals: ChannelStats['queue'];
  readonly emit: (e: ChannelEvent) => void;
  readonly now: () => number;
}

/** All work queues of a router, created on first use. */
export class QueueHub {
  private readonly queues = new Map<string, WorkQueue>();

  /** @param ctx limits, the router's queue totals, and its event sink. */
  constructor(private readonly ctx: QueueHubContext) {}

  /** Appends to a queue; INSUFFICIENT_RESOURCES when `maxBuffered` messages already wait in it. */
  push(from: string, name: string, body: unknown): Result<void, QiError> {
    const checked = checkName('queue', name);
    if (checked.tag === 'failure') return checked;
    const encoded = encodeBody(body, this.ctx.maxBytes, `message from '${from}' to queue '${name}'`);
    if (encoded.tag === 'failure') return encoded;
    const queue = this.queue(name);
    if (queue.size >= this.ctx.maxBuffered) {
      return failure(
        qiError('INSUFFICIENT_RESOURCES', `queue '${name}' already holds ${queue.size} messages`, {
          queue: name,
          maxBufferedPerTarget: this.ctx.maxBuffered,
        }),
      );
    }
    queue.push(from, encoded.value);
    this.ctx.totals.pushed += 1;
    this.ctx.totals.bytes += encoded.value.bytes;
    this.ctx.emit({ type: 'message', kind: 'queue', from, to: name, bytes: encoded.value.bytes, at: this.ctx.now() });
    return success(undefined);
  }

  /** Pulls for an agent the caller has checked is live; see {@link WorkQueue.pull}. */
  pull(agentId: string, name: string, timeoutMs: number | undefined): Promise<Result<QueueMessage | null, QiError>> {
    const checked = checkName('queue', name);
    if (checked.tag === 'failure') return Promise.resolve(checked);
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
      const message = `a queue pull timeout must be a number ≥ 0 (got ${String(timeoutMs)})`;
      return Promise.resolve(failure(qiError('INVALID_MESSAGE', message, { timeoutMs })));
    }
    return this.queue(name).pull(agentId, timeoutMs);
  }

  /** Settles a pulled message; NOT_FOUND when `agentId` does not hold `messageId` in that queue. */
  ack(agentId: string, name: string, messageId: string): Result<void, QiError> {
    if (this.queues.get(name)?.ack(agentId, messageId) !== true) {
      const message = `agent '${agentId}' holds no message '${messageId}' of queue '${name}'`;
      return failure(qiError('NOT_FOUND', message, { agentId, queue: name, messageId }));
    }
    this.ctx.totals.acked += 1;
    return success(undefined);
  }

  /** The agent is gone: its waiting pulls fail with `error`, its unacked messages are redelivered. */
  dropAgent(agentId: string, error: QiError): void {
    for (const queue of this.queues.values()) {
      queue.cancelWaiters(error, agentId);
      queue.returnHeldBy(agentId, (m) => {
        this.ctx.totals.redelivered += 1;
        this.ctx.emit({ type: 'redeliver', queue: queue.name, messageId: m.id, from: agentId, at: this.ctx.now() });
      });
    }
  }

  /** Fails every waiting pull with `error`. */
  cancelAll(error: QiError): void {
    for (const queue of this.queues.values()) queue.cancelWaiters(error);
  }

  private queue(name: string): WorkQueue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new WorkQueue(name, () => {
        this.ctx.totals.delivered += 1;
      });
      this.queues.set(name, queue);
    }
    return queue;
  }
}
