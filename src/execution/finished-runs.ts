/**
 * The final statuses of ended runs, for `monitorExecution` after the run itself is released:
 * a few figures each, and only the last `max` runs (oldest dropped first). An entry holds its
 * own flat copy of the id and of the six status fields, nothing of the run: ~0.2 KB a run, so
 * a host that never asks still holds at most ~0.2 MB at the default bound.
 * @module
 */
import { flatString } from '../util/flat-string.js';
import type { ExecutionStatus } from './types.js';

export class FinishedRuns {
  private readonly statuses = new Map<string, ExecutionStatus>();

  constructor(private readonly max = 1000) {}

  get(coordinationId: string): ExecutionStatus | undefined {
    return this.statuses.get(coordinationId);
  }

  /** Records a run's final status (a run started again under the same id is forgotten first). */
  set(coordinationId: string, status: ExecutionStatus): void {
    this.statuses.delete(coordinationId);
    const id = flatString(coordinationId);
    this.statuses.set(id, {
      coordinationId: id,
      status: status.status,
      progress: status.progress,
      activeAgents: status.activeAgents,
      completedTasks: status.completedTasks,
      totalTasks: status.totalTasks,
    });
    if (this.statuses.size > this.max) this.statuses.delete(this.statuses.keys().next().value!);
  }

  delete(coordinationId: string): void {
    this.statuses.delete(coordinationId);
  }

  get size(): number {
    return this.statuses.size;
  }
}
