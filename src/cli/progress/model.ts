import type { CoordinatorEvent } from '../../events/types.js';

/** One row of the live table: what an agent is doing now. */
export interface AgentRow {
  readonly agentId: string;
  type: string;
  plugin: string;
  status: string;
  subtask: string;
  progress: number;
  cpuPercent: number | undefined;
  rssMB: number | undefined;
  toolCalls: number;
  readonly firstSeen: number;
  lastSeen: number;
}

/** The run as the progress display sees it, folded from coordinator events. */
export class ProgressModel {
  readonly agents = new Map<string, AgentRow>();
  total = 0;
  finished = 0;
  succeeded = 0;
  failed = 0;
  cancelled = 0;
  skipped = 0;
  startedAt = Date.now();
  /** Delegated subtasks: their parent subtask and depth (planned subtasks are absent: depth 0). */
  readonly delegated = new Map<string, { readonly parentId: string; readonly depth: number }>();

  private row(agentId: string, at: number): AgentRow {
    let row = this.agents.get(agentId);
    if (row === undefined) {
      row = { agentId, type: '', plugin: '', status: 'starting', subtask: '', progress: 0, cpuPercent: undefined, rssMB: undefined, toolCalls: 0, firstSeen: at, lastSeen: at };
      this.agents.set(agentId, row);
    }
    row.lastSeen = at;
    return row;
  }

  apply(event: CoordinatorEvent): void {
    switch (event.type) {
      case 'run-start':
        this.total = event.subtasks;
        this.startedAt = event.at;
        return;
      case 'subtask-start': {
        const row = this.row(event.agentId, event.at);
        row.subtask = event.subtaskId;
        row.progress = 0;
        return;
      }
      case 'subtask-end':
        if (event.status === 'succeeded' || event.status === 'failed' || event.status === 'skipped' || event.status === 'cancelled') this.finished++;
        if (event.status === 'succeeded') this.succeeded++;
        if (event.status === 'failed') this.failed++;
        if (event.status === 'cancelled') this.cancelled++;
        if (event.status === 'skipped') this.skipped++;
        if (event.agentId !== undefined) {
          const row = this.row(event.agentId, event.at);
          row.progress = event.status === 'succeeded' ? 1 : row.progress;
        }
        return;
      case 'subtasks-delegated':
        this.total += event.subtasks.length;
        for (const d of event.subtasks) this.delegated.set(d.id, { parentId: event.parentId, depth: d.depth });
        return;
      case 'agent':
        this.applyAgent(event.event, event.at);
        return;
      default:
        return;
    }
  }

  private applyAgent(e: Extract<CoordinatorEvent, { type: 'agent' }>['event'], at: number): void {
    const row = this.row(e.agentId, at);
    switch (e.type) {
      case 'status':
        row.status = e.status;
        row.type = e.agentType;
        row.plugin = e.plugin;
        return;
      case 'progress':
        row.subtask = e.subtaskId;
        row.progress = e.fraction;
        return;
      case 'usage':
        row.rssMB = e.sample.rssMB;
        row.cpuPercent = e.sample.cpuWindowPercent ?? e.sample.cpuPercent;
        return;
      case 'tool':
        row.toolCalls++;
        return;
      default:
        return;
    }
  }

  depthOf(subtaskId: string): number {
    return this.delegated.get(subtaskId)?.depth ?? 0;
  }

  /**
   * Rows with each agent running a delegated subtask right under the agent running its parent
   * (depth first); the others keep their order.
   */
  nested(rows: readonly AgentRow[]): AgentRow[] {
    const byRunning = new Map<string, AgentRow>();
    for (const r of rows) if (r.subtask !== '') byRunning.set(r.subtask, r);
    const under = new Map<AgentRow, AgentRow[]>();
    const top: AgentRow[] = [];
    for (const r of rows) {
      const parent = this.delegated.get(r.subtask)?.parentId;
      const host = parent === undefined ? undefined : byRunning.get(parent);
      if (host === undefined || host === r) top.push(r);
      else under.set(host, [...(under.get(host) ?? []), r]);
    }
    const out: AgentRow[] = [];
    const seen = new Set<AgentRow>();
    const visit = (r: AgentRow): void => {
      if (seen.has(r)) return;
      seen.add(r);
      out.push(r);
      for (const c of under.get(r) ?? []) visit(c);
    };
    for (const r of top) visit(r);
    for (const r of rows) visit(r);
    return out;
  }

  /** Overall fraction done. */
  get fraction(): number {
    if (this.total === 0) return 0;
    const running = [...this.agents.values()].filter((r) => r.status === 'executing').reduce((s, r) => s + r.progress, 0);
    return Math.min(1, (this.finished + running) / this.total);
  }
}
