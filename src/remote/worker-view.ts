import type { CoordinatorEvent } from '../events/types.js';
import { ProgressModel } from '../cli/progress/model.js';

/** Rows of agents that have ended kept in the view (a worker runs for days: older ones are dropped). */
const ENDED_ROWS = 20;

const ENDED: ReadonlySet<string> = new Set(['completed', 'failed', 'terminated']);

/**
 * A worker's live view, the same table as `run`'s: its agents' events fold into a
 * {@link ProgressModel} as a run's would. A worker has no run with a known size, so the overall
 * line counts the subtasks it has been given (each start adds one); agents that ended are kept
 * as rows only for the last {@link ENDED_ROWS}, so a long-lived worker's view stays bounded.
 */
export class WorkerProgress {
  readonly model = new ProgressModel();
  /** Agents that ended, oldest first. */
  private readonly ended: string[] = [];

  /** Folds an event in: `render` is the renderer drawing {@link model} (it applies the event to it), or the model's own `apply`. */
  apply(event: CoordinatorEvent, render: (event: CoordinatorEvent) => void = (e) => this.model.apply(e)): void {
    if (event.type === 'subtask-start') this.model.total++;
    render(event);
    if (event.type === 'agent' && event.event.type === 'status' && ENDED.has(event.event.status)) {
      this.ended.push(event.event.agentId);
      while (this.ended.length > ENDED_ROWS) this.model.agents.delete(this.ended.shift()!);
    }
  }
}
