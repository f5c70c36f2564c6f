/**
 * One named work queue: FIFO messages, FIFO waiting pullers, and per-agent in-flight holds
 * that go back to the front of the queue when their holder disappears.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { QueueMessage } from './types.js';
import type { Encoded } from './payload.js';
import { decodeBody } from './payload.js';

/** A message stored in a queue. `seq` orders redeliveries back into send order. */
export interface StoredMessage {
  readonly id: string;
  readonly seq: number;
  readonly from: string;
  readonly encoded: Encoded;
}

type PullResult = Result<QueueMessage | null, QiError>;

interface Waiter {
  readonly agentId: string;
  readonly resolve: (r: PullResult) => void;
  timer?: NodeJS.Timeout;
}

/** A queue's state. The router owns validation, limits, events and statistics. */
export class WorkQueue {
  private readonly pending: StoredMessage[] = [];
  private readonly held = new Map<string, { readonly holder: string; readonly message: StoredMessage }>();
  private readonly waiters: Waiter[] = [];
  private counter = 0;

  /** @param onHandOut called each time a message is handed to a puller. */
  constructor(
    readonly name: string,
    private readonly onHandOut: () => void,
  ) {}

  /** Messages waiting to be pulled. */
  get size(): number {
    return this.pending.length;
  }

  /** Appends a message (id `q-<name>-<n>`) and hands it to the longest-waiting puller, if any. */
  push(from: string, encoded: Encoded): string {
    this.counter += 1;
    const message: StoredMessage = { id: `q-${this.name}-${this.counter}`, seq: this.counter, from, encoded };
    this.pending.push(message);
    this.pump();
    return message.id;
  }

  /**
   * The next message for `agentId`, which then holds it until it acks. With nothing queued it
   * waits behind earlier pullers until a push, the timeout (→ `null`; 0 = do not wait) or a cancel.
   */
  pull(agentId: string, timeoutMs: number | undefined): Promise<PullResult> {
    const first = this.pending.shift();
    if (first !== undefined) return Promise.resolve(success(this.handOut(agentId, first)));
    if (timeoutMs !== undefined && timeoutMs <= 0) return Promise.resolve(success(null));
    return new Promise<PullResult>((resolve) => {
      const waiter: Waiter = { agentId, resolve };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.dropWaiter(waiter);
          resolve(success(null));
        }, timeoutMs);
        waiter.timer.unref();
      }
      this.waiters.push(waiter);
    });
  }

  /** Settles a hold. False when `agentId` does not hold `messageId`. */
  ack(agentId: string, messageId: string): boolean {
    const entry = this.held.get(messageId);
    if (entry === undefined || entry.holder !== agentId) return false;
    this.held.delete(messageId);
    return true;
  }

  /**
   * Puts every message `agentId` holds back at the front of the queue, in their original order,
   * calls `onReturn` for each, then serves waiting pullers. Returns how many went back.
   */
  returnHeldBy(agentId: string, onReturn: (m: StoredMessage) => void): number {
    const back: StoredMessage[] = [];
    for (const [id, entry] of this.held) {
      if (entry.holder !== agentId) continue;
      this.held.delete(id);
      back.push(entry.message);
    }
    if (back.length === 0) return 0;
    back.sort((a, b) => a.seq - b.seq);
    this.pending.unshift(...back);
    for (const message of back) onReturn(message);
    this.pump();
    return back.length;
  }

  /** Resolves the waiting pulls of one agent (or of every agent) with `error`. */
  cancelWaiters(error: QiError, agentId?: string): void {
    for (const waiter of [...this.waiters]) {
      if (agentId !== undefined && waiter.agentId !== agentId) continue;
      this.dropWaiter(waiter);
      waiter.resolve(failure(error));
    }
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.pending.length > 0) {
      const waiter = this.waiters.shift();
      const message = this.pending.shift();
      if (waiter === undefined || message === undefined) return;
      if (waiter.timer !== undefined) clearTimeout(waiter.timer);
      waiter.resolve(success(this.handOut(waiter.agentId, message)));
    }
  }

  private handOut(agentId: string, message: StoredMessage): QueueMessage {
    this.held.set(message.id, { holder: agentId, message });
    this.onHandOut();
    return { id: message.id, body: decodeBody(message.encoded) };
  }

  private dropWaiter(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }
}
