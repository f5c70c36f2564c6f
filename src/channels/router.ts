/**
 * The coordinator's message router: direct messages, topics and work queues between agents.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { DirectRoutes } from './direct.js';
import { checkName, encodeBody } from './payload.js';
import { QueueHub } from './queue-hub.js';
import { emptyStats, safeListener } from './stats.js';
import { TopicTable } from './topics.js';
import type { ChannelEvent, ChannelRouterOptions, ChannelStats, Delivery, QueueMessage } from './types.js';

const cancelled = (): QiError => qiError('CANCELLED', 'the channel router is closed');

/**
 * Routes messages between agents (ctx.send / publish / subscribe / messages / queue). Every
 * body is JSON-checked and size-capped once, and each recipient gets its own parsed copy.
 * Messages from one sender to one target, topic or queue arrive in send order. Calls are
 * synchronous except {@link ChannelRouter.queuePull}. After {@link ChannelRouter.close}, send,
 * publish, subscribe, queuePush and queuePull fail with `CANCELLED` and register is ignored.
 */
export class ChannelRouter {
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly routes: DirectRoutes;
  private readonly topics = new TopicTable();
  private readonly queues: QueueHub;
  private readonly totals: ChannelStats = emptyStats();
  private readonly emit: (e: ChannelEvent) => void;
  private closed = false;

  /** @throws RangeError when `maxMessageBytes` or `maxBufferedPerTarget` is not a positive number (a programming error). */
  constructor(options: ChannelRouterOptions) {
    const maxBuffered = options.maxBufferedPerTarget ?? 1000;
    if (!(options.maxMessageBytes > 0) || !(maxBuffered > 0)) {
      throw new RangeError('ChannelRouter: maxMessageBytes and maxBufferedPerTarget must be positive numbers');
    }
    this.maxBytes = options.maxMessageBytes;
    this.now = options.now ?? Date.now;
    this.emit = safeListener(options.onEvent);
    this.routes = new DirectRoutes(maxBuffered);
    this.queues = new QueueHub({ maxBytes: this.maxBytes, maxBuffered, totals: this.totals.queue, emit: this.emit, now: this.now });
  }

  /** A live agent and how to deliver to it; flushes buffers of subtasks already bound to it. */
  register(agentId: string, deliver: (d: Delivery) => void): void {
    if (!this.closed) this.routes.addAgent(agentId, deliver);
  }

  /**
   * The agent is gone: its subscriptions and subtask bindings are dropped, its waiting pulls
   * fail with `CANCELLED`, and every queue message it pulled and did not ack goes back to the
   * front of its queue (a `redeliver` event each), to be handed to the next puller.
   */
  unregister(agentId: string): void {
    this.routes.removeAgent(agentId);
    this.topics.removeAgent(agentId);
    this.queues.dropAgent(agentId, qiError('CANCELLED', `agent '${agentId}' was unregistered`, { agentId }));
  }

  /** The subtask now runs on `agentId`: its buffered direct messages are delivered, in order. */
  bindSubtask(subtaskId: string, agentId: string): void {
    this.routes.bind(subtaskId, agentId);
  }

  /** The subtask stopped running; messages to it are buffered again (e.g. for a retry). */
  unbindSubtask(subtaskId: string): void {
    this.routes.unbind(subtaskId);
  }

  /** The run's subtask ids: valid `send` targets before they start. */
  declareSubtasks(ids: readonly string[]): void {
    this.routes.declare(ids);
  }

  /**
   * Sends a direct message to an agent id or subtask id. A known subtask that is not running
   * buffers it (INSUFFICIENT_RESOURCES past `maxBufferedPerTarget`); an unknown id is NOT_FOUND;
   * a bad or oversized body is INVALID_MESSAGE.
   */
  send(from: string, to: string, body: unknown): Result<void, QiError> {
    if (this.closed) return failure(cancelled());
    const encoded = encodeBody(body, this.maxBytes, `message from '${from}' to '${to}'`);
    if (encoded.tag === 'failure') return encoded;
    const routed = this.routes.route(from, to, encoded.value);
    if (routed.tag === 'failure') return routed;
    this.totals.direct.messages += 1;
    this.totals.direct.bytes += encoded.value.bytes;
    this.emit({ type: 'message', kind: 'direct', from, to, bytes: encoded.value.bytes, at: this.now() });
    return success(undefined);
  }

  /** Subscribes a live agent to a topic (NOT_FOUND for an unregistered agent). */
  subscribe(agentId: string, topic: string): Result<void, QiError> {
    if (this.closed) return failure(cancelled());
    const name = checkName('topic', topic);
    if (name.tag === 'failure') return name;
    if (this.routes.agent(agentId) === undefined) {
      return failure(qiError('NOT_FOUND', `no live agent '${agentId}' to subscribe`, { agentId, topic }));
    }
    this.topics.add(agentId, topic);
    return success(undefined);
  }

  /** Drops one subscription (no-op when absent). */
  unsubscribe(agentId: string, topic: string): void {
    this.topics.remove(agentId, topic);
  }

  /** Delivers to every subscriber of `topic` except the publisher; returns how many got it. */
  publish(from: string, topic: string, body: unknown): Result<number, QiError> {
    if (this.closed) return failure(cancelled());
    const name = checkName('topic', topic);
    if (name.tag === 'failure') return name;
    const encoded = encodeBody(body, this.maxBytes, `message from '${from}' on topic '${topic}'`);
    if (encoded.tag === 'failure') return encoded;
    const delivered = this.topics.fanOut(from, topic, encoded.value, (id) => this.routes.agent(id));
    this.totals.topic.messages += 1;
    this.totals.topic.bytes += encoded.value.bytes;
    this.totals.topic.deliveries += delivered;
    this.emit({ type: 'message', kind: 'topic', from, to: topic, bytes: encoded.value.bytes, at: this.now() });
    return success(delivered);
  }

  /** Appends to a work queue (created on first use); INSUFFICIENT_RESOURCES when `maxBufferedPerTarget` messages wait in it. */
  queuePush(from: string, name: string, body: unknown): Result<void, QiError> {
    return this.closed ? failure(cancelled()) : this.queues.push(from, name, body);
  }

  /**
   * The next message of a queue for a live agent (else NOT_FOUND), which holds it until
   * {@link ChannelRouter.queueAck}. Waits (FIFO among pullers) for a push; `timeoutMs` elapsed →
   * `null` (0 = do not wait); no timeout = until a message, the agent's unregister or close (→ CANCELLED).
   */
  queuePull(agentId: string, name: string, timeoutMs?: number): Promise<Result<QueueMessage | null, QiError>> {
    if (this.closed) return Promise.resolve(failure(cancelled()));
    if (this.routes.agent(agentId) === undefined) {
      return Promise.resolve(failure(qiError('NOT_FOUND', `no live agent '${agentId}' to pull for`, { agentId, queue: name })));
    }
    return this.queues.pull(agentId, name, timeoutMs);
  }

  /** Settles a pulled message; NOT_FOUND when `agentId` does not hold `messageId` in that queue. */
  queueAck(agentId: string, name: string, messageId: string): Result<void, QiError> {
    return this.queues.ack(agentId, name, messageId);
  }

  /** A copy of the running totals. */
  stats(): ChannelStats {
    const { direct, topic, queue } = this.totals;
    return { direct: { ...direct }, topic: { ...topic }, queue: { ...queue } };
  }

  /** Stops the router: waiting pulls resolve with CANCELLED, and so do later sends, publishes and pulls. */
  close(): void {
    this.closed = true;
    this.queues.cancelAll(cancelled());
  }
}
