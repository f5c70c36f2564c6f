import type { CoordinatorEvent } from '../../events/types.js';
import { bar, seconds, table } from './format.js';
import { ProgressModel } from './model.js';
import { safeStringify } from '../../util/safe-json.js';

/** Shows a run's progress on a stream (stderr). */
export interface ProgressRenderer {
  onEvent(event: CoordinatorEvent): void;
  /** Final draw; leaves the terminal clean. */
  stop(): void;
}

const COLUMNS = [
  { title: 'AGENT', width: 26 },
  { title: 'TYPE', width: 16 },
  { title: 'STATUS', width: 10 },
  { title: 'SUBTASK', width: 20 },
  { title: 'PROGRESS', width: 12 },
  { title: 'CPU%', width: 5 },
  { title: 'RSS MB', width: 6 },
  { title: 'TOOLS', width: 5 },
  { title: 'ELAPSED', width: 7 },
];

/** The live table: redrawn in place at most every `intervalMs`, on a TTY. */
export class TtyRenderer implements ProgressRenderer {
  private readonly model = new ProgressModel();
  private drawn = 0;
  private readonly timer: NodeJS.Timeout;
  private dirty = true;

  constructor(
    private readonly out: NodeJS.WriteStream,
    intervalMs = 100,
  ) {
    this.out.write('\x1b[?25l');
    this.timer = setInterval(() => this.draw(), intervalMs);
  }

  onEvent(event: CoordinatorEvent): void {
    this.model.apply(event);
    this.dirty = true;
  }

  private lines(): string[] {
    const now = Date.now();
    const rows = [...this.model.agents.values()].map((r) => [
      r.agentId,
      r.plugin === '' ? r.type : `${r.type}/${r.plugin}`,
      r.status,
      r.subtask,
      `${bar(r.progress, 8)} ${Math.round(r.progress * 100)}%`,
      r.cpuPercent === undefined ? '' : Math.round(r.cpuPercent).toString(),
      r.rssMB === undefined ? '' : Math.round(r.rssMB).toString(),
      r.toolCalls.toString(),
      seconds((r.status === 'executing' || r.status === 'ready' ? now : r.lastSeen) - r.firstSeen),
    ]);
    const m = this.model;
    const overall = `overall ${bar(m.fraction, 30)} ${Math.round(m.fraction * 100)}%  ${m.finished}/${m.total} subtasks (${m.succeeded} ok, ${m.failed} failed)  ${seconds(now - m.startedAt)}`;
    return [...table(COLUMNS, rows), overall];
  }

  private draw(): void {
    if (!this.dirty && this.model.agents.size === 0) return;
    this.dirty = false;
    const width = this.out.columns ?? 120;
    const lines = this.lines().map((l) => l.slice(0, Math.max(20, width - 1)));
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const line of lines) text += `\x1b[2K${line}\n`;
    for (let i = lines.length; i < this.drawn; i++) text += '\x1b[2K\n';
    if (this.drawn > lines.length) text += `\x1b[${this.drawn - lines.length}A`;
    this.drawn = lines.length;
    this.out.write(text);
  }

  stop(): void {
    clearInterval(this.timer);
    this.dirty = true;
    this.draw();
    this.out.write('\x1b[?25h');
  }
}

/** Without a TTY: one plain line per lifecycle event. */
export class LineRenderer implements ProgressRenderer {
  private readonly startedAt = Date.now();

  constructor(private readonly out: NodeJS.WritableStream) {}

  private say(text: string): void {
    this.out.write(`[${seconds(Date.now() - this.startedAt).padStart(6)}] ${text}\n`);
  }

  onEvent(event: CoordinatorEvent): void {
    switch (event.type) {
      case 'run-start':
        this.say(`run ${event.coordinationId}: ${event.subtasks} subtasks of task '${event.taskId}'`);
        return;
      case 'subtask-start':
        this.say(`subtask ${event.subtaskId} started on ${event.agentId} (attempt ${event.attempt})`);
        return;
      case 'subtask-end':
        this.say(`subtask ${event.subtaskId} ${event.status}${event.error === undefined ? '' : `: [${event.error.code}] ${event.error.message.split('\n')[0]}`}`);
        return;
      case 'subtask-retry':
        this.say(`subtask ${event.subtaskId} retried (attempt ${event.attempt}) in ${event.delayMs} ms: ${event.reason}`);
        return;
      case 'fallback':
        this.say(`fallback ${event.action}: ${safeStringify(event.detail)}`);
        return;
      case 'concurrency':
        this.say(`concurrency ${event.value} (${event.reason})`);
        return;
      case 'agent':
        if (event.event.type === 'status') this.say(`agent ${event.event.agentId} ${event.event.status}${event.event.reason === undefined ? '' : ` (${event.event.reason})`}`);
        else if (event.event.type === 'audit') this.say(`agent ${event.event.agentId} ${event.event.kind} access ${event.event.action}: ${safeStringify(event.event.detail)}`);
        return;
      case 'run-end':
        this.say(`run ${event.status} in ${seconds(event.executionTime)}`);
        return;
      default:
        return;
    }
  }

  stop(): void {}
}
