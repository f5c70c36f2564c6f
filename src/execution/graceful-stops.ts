import type { LiveAgent } from './run-agents.js';

/**
 * Agents of cancelled subtasks on their way out: the plugin is told (its ctx.signal aborts) and
 * gets `graceMs` to return; an agent still busy then is killed. Whichever comes first, the agent
 * is retired: it may hold the cancelled work's state.
 */
export class GracefulStops {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly graceMs: number,
    private readonly retire: (live: LiveAgent, reason: string, force: boolean) => void,
  ) {}

  /** Tells the agent's plugin to stop, and kills the agent if it has not returned after the grace. */
  stop(live: LiveAgent, reason: string): void {
    const id = live.agent.id;
    if (this.timers.has(id)) return;
    live.agent.cancel(reason);
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        this.retire(live, `cancelled: ${reason}`, true);
      }, this.graceMs),
    );
  }

  /** The cancelled attempt returned (or its agent died) within the grace: the agent goes quietly. */
  returned(live: LiveAgent): void {
    clearTimeout(this.timers.get(live.agent.id));
    this.timers.delete(live.agent.id);
    if (live.agent.alive) this.retire(live, 'subtask cancelled', false);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
