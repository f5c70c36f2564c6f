/**
 * One synchronization point's one-shot state machine: arrivals, departures, timer, outcome.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import type { SynchronizationPoint } from '../schemas/strategy.js';
import { closedError, departedError, timeoutError } from './messages.js';
import { WaitSet } from './participants.js';
import { type Arrival, type ReleasePlugins, releaseValue } from './release.js';
import type { PointOutcome, PointStatus, SyncEvent, SyncHubOptions } from './types.js';

/** What a point shares with its hub. */
export interface PointContext {
  readonly failureHandling: SyncHubOptions['failureHandling'];
  readonly plugins: ReleasePlugins;
  readonly now: () => number;
  readonly emit: (e: SyncEvent) => void;
  readonly stats: { arrivals: number; waitMs: number };
}

interface Waiter {
  readonly subtaskId: string;
  readonly agentId: string;
  readonly since: number;
  readonly resolve: (r: Result<unknown, QiError>) => void;
}

/** A point: waits for its condition, then settles once; later arrivals get the same outcome. */
export class SyncPoint {
  /** Resolves once the point released, failed, timed out or was cancelled. */
  readonly settled: Promise<PointOutcome>;
  private readonly waits: WaitSet;
  private readonly arrivals: Arrival[] = [];
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private done: PointOutcome | undefined;
  private resolveSettled: (o: PointOutcome) => void = () => undefined;

  /** @param invalid when given, the point is settled as failed with it at once. */
  constructor(
    readonly spec: SynchronizationPoint,
    readonly entries: readonly string[],
    private readonly ctx: PointContext,
    invalid?: QiError,
  ) {
    this.waits = WaitSet.of(spec, entries);
    this.settled = new Promise((resolve) => {
      this.resolveSettled = resolve;
    });
    if (invalid !== undefined) this.settle('failed', failure(invalid));
    else this.evaluate();
  }

  /**
   * Settles the point as released with `value`, as recorded before a coordinator restart (a
   * resumed run): participants that arrive again get the same outcome, a decision stays decided.
   */
  restoreReleased(value: unknown): void {
    if (this.done === undefined) this.settle('released', success(value));
  }

  /** The outcome, once settled. */
  get outcome(): PointOutcome | undefined {
    return this.done;
  }

  /**
   * Records an arrival (a participant, already checkpointed if need be) and resolves when the
   * point settles. Arrivals are kept in `seq` (call) order; a repeat keeps its first place.
   */
  arrive(subtaskId: string, agentId: string, value: unknown, entry: number, seq: number): Promise<Result<unknown, QiError>> {
    this.ctx.stats.arrivals++;
    const at = this.ctx.now();
    const done = this.done;
    if (done !== undefined) {
      this.emit({ type: 'sync-arrive', subtaskId, agentId, at });
      this.emit({ type: done.status === 'released' ? 'sync-release' : 'sync-fail', subtaskId, agentId, waitedMs: 0, at });
      return Promise.resolve(done.result);
    }
    const previous = this.arrivals.findIndex((a) => a.subtaskId === subtaskId);
    const earlier = this.arrivals[previous];
    if (earlier !== undefined) this.arrivals[previous] = { subtaskId, agentId, value, entry, seq: earlier.seq, at };
    else {
      const before = this.arrivals.findIndex((a) => a.seq > seq);
      this.arrivals.splice(before < 0 ? this.arrivals.length : before, 0, { subtaskId, agentId, value, entry, seq, at });
    }
    this.waits.satisfy(subtaskId, agentId);
    this.emit({ type: 'sync-arrive', subtaskId, agentId, at });
    const result = new Promise<Result<unknown, QiError>>((resolve) => {
      this.waiters.push({ subtaskId, agentId, since: at, resolve });
    });
    this.startTimer();
    this.evaluate();
    return result;
  }

  /**
   * `id` (a subtask that ended, or an agent that died) will never arrive. Under fail-fast the
   * point fails (unless its condition is `timeout`, which expects absentees); otherwise the
   * condition stops waiting for it.
   */
  depart(id: string, kind: 'subtask' | 'agent'): void {
    if (this.done !== undefined || !this.waits.depart(id)) return;
    if (this.ctx.failureHandling === 'fail-fast' && this.spec.condition.type !== 'timeout') {
      this.settle('failed', failure(departedError(this.spec.id, id, kind)));
      return;
    }
    this.evaluate();
  }

  /** Cancels the point if it has not settled: every waiting arrival gets CANCELLED. */
  close(): void {
    this.settle('cancelled', failure(closedError(this.spec.id, this.waits)));
  }

  private evaluate(): void {
    if (this.done === undefined && this.waits.met(this.spec.condition.type)) this.release();
  }

  private release(): void {
    const value = releaseValue(this.spec, this.arrivals, this.ctx.plugins);
    this.settle(value.tag === 'success' ? 'released' : 'failed', value);
  }

  private startTimer(): void {
    const ms = this.spec.timeoutMs;
    if (ms === undefined || this.timer !== undefined || this.timedOut || this.done !== undefined) return;
    this.timer = setTimeout(() => this.onTimer(ms), ms);
    this.timer.unref();
  }

  private onTimer(ms: number): void {
    this.timer = undefined;
    if (this.done !== undefined) return;
    this.timedOut = true;
    this.emit({ type: 'sync-timeout', at: this.ctx.now() });
    if (this.spec.condition.type === 'timeout' || this.spec.onTimeout === 'proceed') this.release();
    else if (this.spec.onTimeout === 'fail') {
      const arrived = this.arrivals.map((a) => a.subtaskId);
      this.settle('timed-out', failure(timeoutError(this.spec.id, ms, this.waits, arrived, this.waits.missing())));
    }
  }

  private settle(status: PointStatus, result: Result<unknown, QiError>): void {
    if (this.done !== undefined) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.ctx.now();
    const arrived = this.arrivals.map((a) => a.subtaskId);
    this.done = { pointId: this.spec.id, status, result, arrived, timedOut: this.timedOut, at };
    const type = status === 'released' ? 'sync-release' : 'sync-fail';
    const waiters = this.waiters.splice(0);
    if (waiters.length === 0) this.emit({ type, at });
    for (const w of waiters) {
      const waitedMs = Math.max(0, at - w.since);
      this.ctx.stats.waitMs += waitedMs;
      this.emit({ type, subtaskId: w.subtaskId, agentId: w.agentId, waitedMs, at });
      w.resolve(result);
    }
    this.resolveSettled(this.done);
  }

  private emit(e: Omit<SyncEvent, 'pointId' | 'arrived' | 'expected'>): void {
    this.ctx.emit({ ...e, pointId: this.spec.id, arrived: this.waits.arrived, expected: this.waits.expected });
  }
}
