import type { Logger } from 'pino';
import type { JournalRecord } from '../journal/record.js';
import type { RunJournal } from '../journal/run-journal.js';
import type { RunEvent } from './run-events.js';

/**
 * Events the write barrier writes before the next frame to an agent (see RunJournalSink.flushPending),
 * and whether it also syncs them: a reserved attempt number and delegated subtasks must survive a
 * power cut too (or a resume could number an attempt again); a sync point's release needs only to be
 * in the file (a success that followed it is synced after it).
 */
const BARRIER_EVENTS: ReadonlyMap<RunEvent['type'], 'write' | 'sync'> = new Map([
  ['attempts-reserved', 'sync'],
  ['subtasks-added', 'sync'],
  ['sync-released', 'write'],
]);

/**
 * Where a run's applied events go on disk (durable runs). A journal that cannot be written is
 * warned about once and then left alone: the run goes on, but cannot be resumed past that point.
 */
export class RunJournalSink {
  private broken = false;
  /** A record an agent's next frame depends on was appended and is not written (or synced) yet (see flushPending). */
  private barrierPending: 'write' | 'sync' | undefined;

  constructor(
    private readonly journal: RunJournal | undefined,
    private readonly logger: Logger,
  ) {}

  /** Whether the run is journaled at all. */
  get on(): boolean {
    return this.journal !== undefined;
  }

  /**
   * Appends an applied event. An attempt's dispatch and start are not written: until its end
   * nothing needs them (the end names its agent and start), and an attempt cut off by a crash is
   * numbered past by the `attempts-reserved` records (half the records of every subtask, and a
   * write before every frame, saved).
   */
  record(event: RunEvent): void {
    if (this.journal === undefined || this.broken || event.type === 'subtask-dispatched' || event.type === 'subtask-started') return;
    const wrote = this.journal.record(event as unknown as JournalRecord);
    if (wrote.tag === 'failure') this.fail(wrote.error, `the run's journal could not be written; it cannot be resumed past this point: ${wrote.error.message}`);
    else if (this.barrierPending !== 'sync') this.barrierPending = BARRIER_EVENTS.get(event.type) ?? this.barrierPending;
  }

  /**
   * The write barrier, run right before any frame is written to one of the run's agents: a
   * record the frame may depend on, appended since the last write, is written now (synchronously,
   * with whatever else is queued). An attempt number newly reserved is on disk (synced) before an
   * agent can get an attempt with it — a resume, even after a power cut, numbers every attempt it
   * may have sent above it — delegated subtasks (synced) before they can run, and a sync point's
   * release before a participant can learn its outcome. Syncs are rare (a reservation once per
   * run and per retry level, one per delegation call): ~0.2 ms each, not per subtask. With
   * nothing pending this costs a test; other records wait for their batch.
   */
  flushPending(): void {
    if (this.barrierPending !== undefined) this.writeQueued(this.barrierPending === 'sync');
  }

  /**
   * Writes everything appended and not yet written, now (synchronously; `sync`: and fdatasyncs
   * it): for the barrier, and for a process about to exit, whose timers will not fire. What is
   * written then survives the process, as any write does.
   */
  writeQueued(sync = false): void {
    this.barrierPending = undefined;
    if (this.journal === undefined || this.broken) return;
    const wrote = this.journal.writeNow(sync);
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
