import type { LiveAgent } from './run-agents.js';

/**
 * Agents of cancelled subtasks on their way out: the plugin is told (its ctx.signal aborts) and
 * gets `graceMs` to return; an agent still busy then is killed. Whichever comes first, the agent
 * is retired: it may hold the cancelled work's state. A reentrant agent (several subtasks at once)
 * is told for the cancelled subtask alone and stays for the others if that one returns in time.
 */
export class GracefulStops {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly graceMs: number,
    private readonly retire: (live: LiveAgent, reason: string, force: boolean) => void,
  ) {}

  /** Tells the agent's plugin to stop `subtaskId`, and kills the agent if it has not returned after the grace. */
  stop(live: LiveAgent, reason: string, subtaskId: string): void {
    const shared = live.agent.concurrency > 1;
    const key = keyOf(live, subtaskId);
    if (this.timers.has(key)) return;
    live.agent.cancel(reason, subtaskId);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!shared || live.agent.runs(subtaskId)) this.retire(live, `cancelled: ${reason}`, true);
      }, this.graceMs),
    );
  }

  /** The cancelled attempt returned (or its agent died) within the grace: the agent goes quietly (a reentrant one stays). */
  returned(live: LiveAgent, subtaskId: string): void {
    const key = keyOf(live, subtaskId);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    if (live.agent.concurrency === 1 && live.agent.alive) this.retire(live, 'subtask cancelled', false);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/** A stop's key: the agent (one subtask at a time), or the agent and the subtask (a reentrant agent, stopped per subtask). */
function keyOf(live: LiveAgent, subtaskId: string): string {
  return live.agent.concurrency > 1 ? `${live.agent.id}\0${subtaskId}` : live.agent.id;
}
