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
    const wrote = this.journal.record(event as unknown as JournalRecord);
    if (wrote.tag === 'failure') {
      this.broken = true;
      this.logger.warn({ code: wrote.error.code }, `the run's journal could not be written; it cannot be resumed past this point: ${wrote.error.message}`);
    }
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
