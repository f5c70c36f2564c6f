/**
 * Direct-message routing: live agents, the run's subtask ids, which agent runs which subtask,
 * and bounded buffers for subtasks that are known but not running.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { Delivery } from './types.js';
import type { Encoded } from './payload.js';
import { decodeBody } from './payload.js';

/** How a live agent receives messages (typically an IPC send). */
export type DeliverFn = (d: Delivery) => void;

interface Buffered {
  readonly from: string;
  readonly encoded: Encoded;
}

/** Where a direct message went. */
export type RouteOutcome = 'delivered' | 'buffered';

/** Agents, subtasks and buffers for {@link ChannelRouter.send}. */
export class DirectRoutes {
  private readonly agents = new Map<string, DeliverFn>();
  private readonly subtasks = new Set<string>();
  private readonly bindings = new Map<string, string>();
  private readonly buffers = new Map<string, Buffered[]>();

  /** @param maxBuffered most messages held for one subtask that is not running. */
  constructor(private readonly maxBuffered: number) {}

  /** The delivery function of a live agent. */
  agent(agentId: string): DeliverFn | undefined {
    return this.agents.get(agentId);
  }

  /** Adds (or replaces) a live agent and flushes buffers of subtasks already bound to it. */
  addAgent(agentId: string, deliver: DeliverFn): void {
    this.agents.set(agentId, deliver);
    for (const [subtaskId, boundAgent] of this.bindings) if (boundAgent === agentId) this.flush(subtaskId);
  }

  /** Removes an agent; subtasks it ran go back to buffering until bound again. */
  removeAgent(agentId: string): void {
    this.agents.delete(agentId);
    for (const [subtaskId, boundAgent] of this.bindings) if (boundAgent === agentId) this.bindings.delete(subtaskId);
  }

  /** Makes subtask ids valid targets. */
  declare(ids: readonly string[]): void {
    for (const id of ids) this.subtasks.add(id);
  }

  /** The subtask now runs on `agentId` (declaring it if needed); its buffer is delivered in order. */
  bind(subtaskId: string, agentId: string): void {
    this.subtasks.add(subtaskId);
    this.bindings.set(subtaskId, agentId);
    this.flush(subtaskId);
  }

  /** The subtask no longer runs anywhere; later messages to it are buffered again. */
  unbind(subtaskId: string): void {
    this.bindings.delete(subtaskId);
  }

  /**
   * Delivers to a live agent id, else to the agent running a subtask id, else buffers for a
   * known subtask (INSUFFICIENT_RESOURCES when its buffer is full). Unknown ids: NOT_FOUND.
   * A delivery function that throws gives INTERNAL.
   */
  route(from: string, to: string, encoded: Encoded): Result<RouteOutcome, QiError> {
    const direct = this.agents.get(to);
    if (direct !== undefined) return this.deliver(direct, from, to, encoded);
    if (!this.subtasks.has(to)) {
      return failure(qiError('NOT_FOUND', `no agent or subtask '${to}' to send to`, { to, from }));
    }
    const boundAgent = this.bindings.get(to);
    const target = boundAgent === undefined ? undefined : this.agents.get(boundAgent);
    const buffer = this.buffers.get(to) ?? [];
    if (target !== undefined && buffer.length === 0) return this.deliver(target, from, to, encoded);
    if (buffer.length >= this.maxBuffered) {
      return failure(
        qiError('INSUFFICIENT_RESOURCES', `subtask '${to}' is not running and already has ${buffer.length} buffered messages`, {
          to,
          from,
          maxBufferedPerTarget: this.maxBuffered,
        }),
      );
    }
    buffer.push({ from, encoded });
    this.buffers.set(to, buffer);
    return success('buffered');
  }

  private deliver(fn: DeliverFn, from: string, to: string, encoded: Encoded): Result<RouteOutcome, QiError> {
    try {
      fn({ stream: 'direct', from, body: decodeBody(encoded) });
      return success('delivered');
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      return failure(qiError('INTERNAL', `delivering to '${to}' failed: ${reason}`, { to, from }));
    }
  }

  /** Delivers a bound subtask's buffer in order; stops (keeping the rest) if a delivery throws. */
  private flush(subtaskId: string): void {
    const agentId = this.bindings.get(subtaskId);
    const fn = agentId === undefined ? undefined : this.agents.get(agentId);
    const buffer = this.buffers.get(subtaskId);
    if (fn === undefined || buffer === undefined) return;
    while (buffer.length > 0) {
      const next = buffer[0];
      if (next === undefined || this.deliver(fn, next.from, subtaskId, next.encoded).tag === 'failure') return;
      buffer.shift();
    }
    this.buffers.delete(subtaskId);
  }
}
