/**
 * The in-process synchronization hub: routes each `ctx.sync(pointId, value)` to its point.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { SynchronizationPoint } from '../schemas/strategy.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { entryIndex, expandEntries } from './participants.js';
import { type PointContext, SyncPoint } from './point.js';
import type { DecisionRule, PointOutcome, Reducer, SyncEvent, SyncHubOptions, SyncSummary } from './types.js';
import { duplicatePoints, invalidPoints, pointIssues, validatePoints } from './validate.js';

const LIST_MAX = 20;

function list(ids: readonly string[]): string {
  const shown = ids.slice(0, LIST_MAX).join(', ');
  return ids.length > LIST_MAX ? `${shown}, … (${ids.length} in all)` : shown || '(none)';
}

/**
 * Runs every synchronization point of one run. Each point is independent and one-shot: it
 * waits until its condition holds (departed participants no longer count), then releases
 * every waiting arrival with one outcome, which later arrivals also get at once.
 */
export class SyncHub {
  private readonly points = new Map<string, SyncPoint>();
  private readonly stats = { arrivals: 0, waitMs: 0 };
  private readonly dir: string;
  private readonly now: () => number;
  private closed = false;
  private calls = 0;

  /**
   * Builds the points; a point that fails {@link SyncHub.validate} (or whose id is reused — the
   * first keeps it) is settled as failed with INVALID_SPEC at once.
   */
  constructor(options: SyncHubOptions) {
    this.dir = options.checkpointDir;
    this.now = options.now ?? Date.now;
    const onEvent = options.onEvent;
    const ctx: PointContext = {
      failureHandling: options.failureHandling,
      plugins: { reducers: options.reducers, rules: options.rules },
      now: this.now,
      stats: this.stats,
      emit: (e: SyncEvent) => {
        try {
          onEvent?.(e);
        } catch {
          // A throwing listener must not strand the participants waiting at a point.
        }
      },
    };
    const duplicates = duplicatePoints(options.points);
    options.points.forEach((spec, i) => {
      if (duplicates.some((d) => d.index === i)) return;
      const issues = [
        ...pointIssues(spec, `synchronizationPoints[${i}]`, options.reducers, options.rules),
        ...duplicates.filter((d) => d.first === i).map((d) => d.issue),
      ];
      const invalid = issues.length > 0 ? invalidPoints(issues) : undefined;
      this.points.set(spec.id, new SyncPoint(spec, expandEntries(spec, options.allSubtasks), ctx, invalid));
    });
  }

  /**
   * Checks points before a run: unknown reducer/rule names (built-ins plus the given plugins),
   * missing `parameters.agents` or `timeoutMs`, duplicate ids → one `INVALID_SPEC` naming them all.
   */
  static validate(
    points: readonly SynchronizationPoint[],
    reducers?: ReadonlyMap<string, Reducer>,
    rules?: ReadonlyMap<string, DecisionRule>,
  ): Result<void, QiError> {
    return validatePoints(points, reducers, rules);
  }

  /**
   * A participant reached `pointId`. Resolves when the point settles: with its release value, or
   * its failure. A checkpoint's value is saved to disk before the arrival counts. An unknown
   * point or a non-participant → `NOT_FOUND`.
   */
  async arrive(pointId: string, subtaskId: string, agentId: string, value?: unknown): Promise<Result<unknown, QiError>> {
    const point = this.points.get(pointId);
    if (point === undefined) {
      const known = list([...this.points.keys()]);
      return failure(
        qiError('NOT_FOUND', `unknown synchronization point '${pointId}' (known points: ${known}); call ctx.sync with one of them, or add it to strategy.synchronizationPoints`, {
          pointId,
          known: [...this.points.keys()],
        }),
      );
    }
    const entry = entryIndex(point.entries, subtaskId, agentId);
    if (entry < 0) {
      return failure(
        qiError(
          'NOT_FOUND',
          `subtask '${subtaskId}' (agent '${agentId}') is not a participant of synchronization point '${pointId}': ` +
            `neither id is among its participants (${list(point.entries)}); add it to participatingAgents, or do not call ctx.sync('${pointId}') from it`,
          { pointId, subtaskId, agentId },
        ),
      );
    }
    const seq = this.calls++;
    if (point.spec.type === 'checkpoint' && !this.closed) {
      const saved = await saveCheckpoint(this.dir, pointId, subtaskId, value, this.now());
      if (saved.tag === 'failure') return saved;
    }
    return point.arrive(subtaskId, agentId, value, entry, seq);
  }

  /** `subtaskId` ended (succeeded without syncing, failed, skipped, cancelled): it will never arrive anywhere. */
  depart(subtaskId: string): void {
    for (const point of this.points.values()) point.depart(subtaskId, 'subtask');
  }

  /** `agentId` died: entries naming that agent will never be satisfied by it. */
  departAgent(agentId: string): void {
    for (const point of this.points.values()) point.depart(agentId, 'agent');
  }

  /** A point released before a coordinator restart releases the same outcome again (resume). */
  restoreReleased(pointId: string, value: unknown): void {
    this.points.get(pointId)?.restoreReleased(value);
  }

  /** The subtask's last checkpointed value, or undefined when it has none. */
  restore(subtaskId: string): Promise<unknown> {
    return loadCheckpoint(this.dir, subtaskId);
  }

  /** Resolves once the point released, failed, timed out or was cancelled; an unknown point resolves failed (NOT_FOUND). */
  settled(pointId: string): Promise<PointOutcome> {
    const point = this.points.get(pointId);
    if (point !== undefined) return point.settled;
    const error = qiError('NOT_FOUND', `unknown synchronization point '${pointId}' (known points: ${list([...this.points.keys()])})`, { pointId });
    return Promise.resolve({ pointId, status: 'failed', result: failure(error), arrived: [], timedOut: false, at: this.now() });
  }

  /** Points released, points failed or timed out (cancelled ones are not counted), accepted arrivals, summed wait. */
  summary(): SyncSummary {
    let pointsReached = 0;
    let pointsFailed = 0;
    for (const point of this.points.values()) {
      const status = point.outcome?.status;
      if (status === 'released') pointsReached++;
      else if (status === 'failed' || status === 'timed-out') pointsFailed++;
    }
    return { pointsReached, pointsFailed, arrivals: this.stats.arrivals, waitMs: this.stats.waitMs };
  }

  /** Cancels every unsettled point: its waiting arrivals, and later ones, get CANCELLED; timers are cleared. */
  close(): void {
    this.closed = true;
    for (const point of this.points.values()) point.close();
  }
}
