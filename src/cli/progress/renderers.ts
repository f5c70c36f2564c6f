import type { CoordinatorEvent } from '../../events/types.js';
import { seconds } from './format.js';
import { renderFrame } from './frame.js';
import { ProgressModel } from './model.js';
import { safeStringify } from '../../util/safe-json.js';

/** Shows a run's progress on a stream (stderr). */
export interface ProgressRenderer {
  onEvent(event: CoordinatorEvent): void;
  /** A message for the user (e.g. the interrupt notice), never drawn over by the progress. */
  notice(text: string): void;
  /** Final draw; leaves the terminal clean. */
  stop(): void;
}

/** The live table: redrawn in place at most every `intervalMs`, on a TTY, fitted to the window. */
export class TtyRenderer implements ProgressRenderer {
  private drawn = 0;
  private readonly timer: NodeJS.Timeout;
  private dirty = true;

  constructor(
    private readonly out: NodeJS.WriteStream,
    intervalMs = 100,
    /** What is drawn (a worker hands in its own, sized by what it is given rather than by a run). */
    private readonly model = new ProgressModel(),
  ) {
    this.out.write('\x1b[?25l');
    this.timer = setInterval(() => this.draw(), intervalMs);
  }

  onEvent(event: CoordinatorEvent): void {
    this.model.apply(event);
    this.dirty = true;
  }

  /** Erases the frame on screen; the next draw starts below whatever was written meanwhile. */
  private erase(): string {
    if (this.drawn === 0) return '';
    const text = `\x1b[${this.drawn}A\r\x1b[J`;
    this.drawn = 0;
    return text;
  }

  private draw(): void {
    if (!this.dirty && this.model.agents.size === 0) return;
    this.dirty = false;
    const lines = renderFrame(this.model, Date.now(), this.out.columns || 80, this.out.rows || 24);
    let text = this.erase();
    for (const line of lines) text += `${line}\n`;
    this.drawn = lines.length;
    this.out.write(text);
  }

  notice(text: string): void {
    this.out.write(`${this.erase()}${text}\n`);
    this.dirty = true;
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
      case 'subtasks-delegated':
        this.say(`subtask ${event.parentId} delegated ${event.subtasks.length}: ${event.subtasks.map((d) => d.id).join(', ')}`);
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

  notice(text: string): void {
    this.out.write(`${text}\n`);
  }

  stop(): void {}
}
