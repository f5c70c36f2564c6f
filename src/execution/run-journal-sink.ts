import type { Logger } from 'pino';
import type { JournalRecord } from '../journal/record.js';
import type { RunJournal } from '../journal/run-journal.js';
import type { RunEvent } from './run-events.js';

/**
 * Where a run's applied events go on disk (durable runs). A journal that cannot be written is
 * warned about once and then left alone: the run goes on, but cannot be resumed past that point.
 */
export class RunJournalSink {
  private broken = false;
  /** Attempts started and not ended: their agent, for a success that stands for its start. */
  private readonly started = new Map<number, { readonly attempt: number; readonly agentId: string; readonly at: number }>();

  constructor(
    private readonly journal: RunJournal | undefined,
    private readonly logger: Logger,
  ) {}

  /** Whether the run is journaled at all. */
  get on(): boolean {
    return this.journal !== undefined;
  }

  /** Appends an applied event. A dispatch is not written: until the attempt starts on an agent nothing has run, and a resume sets it from the attempt's next record (a third fewer records per subtask). */
  record(event: RunEvent): void {
    if (this.journal === undefined || this.broken || event.type === 'subtask-dispatched') return;
    if (event.type === 'subtask-started') this.started.set(event.index, { attempt: event.attempt, agentId: event.agentId, at: event.at });
    let wrote = event.type === 'subtask-succeeded' ? this.succeeded(event) : this.journal.record(event as unknown as JournalRecord);
    // An attempt's start is in the file before its agent gets the subtask: a coordinator killed
    // after that resumes it under the next attempt number, whatever the agent did meanwhile.
    if (event.type === 'subtask-started' && wrote.tag === 'success') wrote = this.journal.writeNow();
    if ('index' in event && event.type !== 'subtask-started') this.started.delete(event.index);
    if (wrote.tag === 'failure') {
      this.broken = true;
      this.logger.warn({ code: wrote.error.code }, `the run's journal could not be written; it cannot be resumed past this point: ${wrote.error.message}`);
    }
  }

  /**
   * A success carries its attempt's agent and start time, and replaces the attempt's start if that is still
   * queued (not written yet): a trivial subtask's start and end usually share a batch, and then
   * one record stands for both (a resume sets the start from it). A start already written stays.
   */
  private succeeded(event: Extract<RunEvent, { type: 'subtask-succeeded' }>): ReturnType<RunJournal['record']> {
    const start = this.started.get(event.index);
    if (start === undefined || start.attempt !== event.attempt) return this.journal!.record(event as unknown as JournalRecord);
    const { index, attempt } = event;
    return this.journal!.record({ ...event, agentId: start.agentId, startedAt: start.at } as unknown as JournalRecord, (q) => q.type === 'subtask-started' && q['index'] === index && q['attempt'] === attempt);
  }

  /** Resolves once everything appended is on disk (a success before the work that depends on it starts). */
  async durable(): Promise<void> {
    if (this.journal === undefined || this.broken) return;
    const synced = await this.journal.durable();
    if (synced.tag === 'failure') {
      this.broken = true;
      this.logger.warn({ code: synced.error.code }, `the run's journal could not be synced: ${synced.error.message}`);
    }
  }
}
