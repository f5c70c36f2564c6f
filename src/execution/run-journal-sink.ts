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
  /** An attempt's start was appended and is not written yet. */
  private startPending = false;

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
    if (wrote.tag === 'failure') this.fail(wrote.error, `the run's journal could not be written; it cannot be resumed past this point: ${wrote.error.message}`);
    else if (event.type === 'subtask-started') this.startPending = true;
  }

  /**
   * The write barrier, run right before any frame is written to one of the run's agents: an
   * attempt's start appended since the last write is written now (synchronously, with whatever
   * else is queued), so it is in the file before its agent can get the subtask — a coordinator
   * killed after that resumes the attempt under the next number, whatever the agent did. Starts
   * dispatched in one turn share one write; with no start pending this costs a test. Other
   * records wait for their batch: an agent's messages never depend on them being on disk.
   */
  flushPending(): void {
    if (this.startPending) this.writeQueued();
  }

  /**
   * Writes everything appended and not yet written, now (synchronously, not synced): for a
   * process about to exit, whose timers will not fire. What is written then survives the
   * process, as any write does; only a machine crash could still lose it.
   */
  writeQueued(): void {
    this.startPending = false;
    if (this.journal === undefined || this.broken) return;
    const wrote = this.journal.writeNow();
    if (wrote.tag === 'failure') this.fail(wrote.error, `the run's journal could not be written; it cannot be resumed past this point: ${wrote.error.message}`);
  }

  /** Resolves once everything appended is on disk (a success before the work that depends on it starts). */
  async durable(): Promise<void> {
    if (this.journal === undefined || this.broken) return;
    const synced = await this.journal.durable();
    if (synced.tag === 'failure') this.fail(synced.error, `the run's journal could not be synced: ${synced.error.message}`);
  }

  private fail(error: { readonly code: string }, message: string): void {
    this.broken = true;
    this.logger.warn({ code: error.code }, message);
  }
}
