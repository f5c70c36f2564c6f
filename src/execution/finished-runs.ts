/**
 * The final statuses of ended runs, for `monitorExecution` after the run itself is released:
 * a few figures each, and only the last `max` runs (oldest dropped first).
 * @module
 */
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
    this.statuses.set(coordinationId, status);
    if (this.statuses.size > this.max) this.statuses.delete(this.statuses.keys().next().value!);
  }

  delete(coordinationId: string): void {
    this.statuses.delete(coordinationId);
  }

  get size(): number {
    return this.statuses.size;
  }
}
