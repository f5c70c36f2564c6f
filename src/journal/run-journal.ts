import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { crashSwitchFrom } from './crash-switch.js';
import type { RunLock } from './lock.js';
import { acquireRunLock } from './lock.js';
import { readJournal } from './read.js';
import type { JournalRecord } from './record.js';
import { JOURNAL_FILE, RECORD } from './runs.js';
import { JournalWriter } from './writer.js';

/**
 * The journal format; a journal of another version is refused on resume. 2: the head holds a
 * fingerprint of the config alone, and attempts are not journaled at dispatch. 3: a success could
 * stand for its attempt's start too. 4: every start is written (in the file before its agent gets
 * the subtask), and the starts and successes of one write share one line (event-group.ts). 5:
 * starts are not written; an attempt's end names its agent and start, and `attempts-reserved`
 * records (written and synced before an agent gets a number above the last) let a resume number
 * every attempt above any that may have run; a group of successes keeps an agent table and times
 * relative to its first start. 6: a group writes each usage snapshot once, in a table its successes
 * point into.
 */
export const JOURNAL_VERSION = 6;

/** What a run's journal starts with: enough to rebuild the run, and to tell it was not changed. */
export interface JournalHead {
  readonly runId: string;
  readonly taskId: string;
  readonly subtaskCount: number;
  /** The task, strategy and resolved config the run started with (plain JSON). */
  readonly task: unknown;
  readonly strategy: unknown;
  /**
   * sha256 of the task and strategy as the run got them (their JSON: validated, so in the
   * schema's key order) and of the canonical JSON of the config's run-relevant parts.
   */
  readonly fingerprint: string;
  /**
   * sha256 of the canonical JSON of the config's run-relevant parts alone: what a resume compares
   * (its task and strategy come from this head, so only the config can differ; hashing megabytes
   * of task again would only delay the resume).
   */
  readonly configFingerprint: string;
  readonly qicoordVersion: string;
  readonly startedAt: number;
}

/**
 * The fingerprint of what decides a run's course: a resume with other inputs is refused. The
 * task and strategy are taken as the run got them (validated, so their keys in the schema's
 * order): sorting the keys of a 10,000-subtask task cost five times its plain serialization, on
 * every journaled run's start, for a task a resume reads back from the head anyway. The config
 * is merged from several sources, so its keys are sorted (key order does not matter).
 */
export function runFingerprint(task: unknown, strategy: unknown, config: unknown): string {
  return fingerprintOf(JSON.stringify(task), JSON.stringify(strategy), canonicalText(config));
}

/** The same fingerprint from the texts of its parts (the task's and strategy's JSON, the config's canonical text). */
export function fingerprintOf(task: string, strategy: string, config: string): string {
  // The texts as one object, its keys in sorted order; hashed part by part (joining them first
  // copied the task's megabytes once more).
  return createHash('sha256').update('{"config":').update(config).update(',"strategy":').update(strategy).update(',"task":').update(task).update('}').digest('hex');
}

/** sha256 (hex) of a text: the config's fingerprint from its canonical text. */
export function textFingerprint(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** JSON text of a plain JSON value with every object's keys sorted. */
export function canonicalText(value: unknown): string {
  return JSON.stringify(value, sortedKeys);
}

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = (value as Record<string, unknown>)[key];
  return sorted;
}

/** An open journal of one run: append its events, make them durable, end it. */
export interface RunJournal {
  readonly runId: string;
  readonly dir: string;
  /** Appends one event record (written with its batch, or by `writeNow`; on disk after the next `durable()`). */
  record(event: JournalRecord): Result<void, QiError>;
  /** Writes what is recorded so far to the file now; with `sync`, fdatasyncs it before returning. */
  writeNow(sync?: boolean): Result<void, QiError>;
  /** Appends one record given as its JSON text (serialized already). */
  recordJson(json: string): Result<void, QiError>;
  /** Resolves once everything recorded so far is on disk (one fdatasync per batch). */
  durable(): Promise<Result<void, QiError>>;
  /** Syncs, closes and releases the lock (the run's own `run-ended` event marks a finished run). */
  close(): Result<void, QiError>;
}

function openJournal(runDir: string, runId: string, lock: RunLock, truncateTo?: number): Result<RunJournal, QiError> {
  // The testing crash switch is read here, once per journal, so the write path only compares a count.
  const crash = crashSwitchFrom(process.env);
  const writer = crash.tag === 'failure' ? crash : JournalWriter.open(path.join(runDir, JOURNAL_FILE), truncateTo, crash.value);
  if (writer.tag === 'failure') {
    lock.release();
    return writer;
  }
  const w = writer.value;
  return success({
    runId,
    dir: runDir,
    record: (event) => w.append(event),
    writeNow: (sync) => w.writeNow(sync),
    recordJson: (json) => w.appendJson(json),
    durable: () => w.durable(),
    close() {
      // The lock goes once the file is closed (after writes still in flight, if any).
      return w.close(() => lock.release());
    },
  });
}

/**
 * Starts the journal of a new run in `<journalDir>/<runId>/`: the folder, the lock, and the head
 * record, made durable before the run dispatches anything. A folder that cannot be written is a
 * JOURNAL_UNAVAILABLE failure; nothing half-written is left behind.
 */
export async function startRunJournal(journalDir: string, head: JournalHead, texts?: { readonly task: string; readonly strategy: string }): Promise<Result<RunJournal, QiError>> {
  const runDir = path.join(journalDir, head.runId);
  try {
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
  } catch (e) {
    return failure(qiError('JOURNAL_UNAVAILABLE', `cannot create the journal folder ${runDir}: ${e instanceof Error ? e.message : String(e)}; pass --journal DIR elsewhere, or --no-journal`, { runDir }));
  }
  const lock = acquireRunLock(runDir, head.runId);
  if (lock.tag === 'failure') return lock;
  const journal = openJournal(runDir, head.runId, lock.value);
  if (journal.tag === 'failure') return journal;
  const wrote = texts === undefined ? journal.value.record({ type: RECORD.head, version: JOURNAL_VERSION, ...head }) : journal.value.recordJson(headJson(head, texts));
  const synced = wrote.tag === 'failure' ? wrote : await journal.value.durable();
  if (synced.tag === 'failure') {
    journal.value.close();
    return synced;
  }
  return journal;
}

/** The head record's JSON text, with the task and strategy as given JSON texts (serialized once, for the fingerprint too). */
function headJson(head: JournalHead, texts: { readonly task: string; readonly strategy: string }): string {
  const { task: _task, strategy: _strategy, ...rest } = head;
  return `${JSON.stringify({ type: RECORD.head, version: JOURNAL_VERSION, ...rest }).slice(0, -1)},"task":${texts.task},"strategy":${texts.strategy}}`;
}

/** A journal opened to resume a run: its head, the events after it, and the journal to append to. */
export interface ResumedJournal {
  readonly head: JournalHead;
  readonly events: readonly JournalRecord[];
  /** The run's `run-ended` event when it had already ended: nothing to resume, its outcome stands. */
  readonly ended?: JournalRecord;
  readonly journal: RunJournal;
}

/**
 * Opens `<journalDir>/<runId>/` to resume it: locks it (RUN_LOCKED while a live process runs it),
 * reads it back (a torn final record is cut off), and checks its version and — when given — the
 * fingerprint of the task and config it is resumed with (INVALID_JOURNAL on a mismatch).
 */
export function openRunJournal(journalDir: string, runId: string, expectFingerprint?: string): Result<ResumedJournal, QiError> {
  if (!/^[A-Za-z0-9._:-]{1,200}$/.test(runId)) {
    return failure(qiError('NOT_FOUND', `'${runId}' is not a run id (see qicoord runs)`, { runId }));
  }
  const runDir = path.join(journalDir, runId);
  const contents = readJournal(path.join(runDir, JOURNAL_FILE));
  if (contents.tag === 'failure') {
    return contents.error.code === 'NOT_FOUND'
      ? failure(qiError('NOT_FOUND', `no journaled run '${runId}' in ${journalDir}; 'qicoord runs' lists the runs there (--journal DIR for another folder)`, { runId, journalDir }))
      : contents;
  }
  const [first, ...events] = contents.value.records;
  if (first === undefined) {
    // Killed while its head was written: the run never dispatched anything.
    return failure(qiError('INVALID_JOURNAL', `run ${runId} never started: its coordinator stopped while writing the journal's head, before anything ran; start the run again with qicoord run`, { runId }));
  }
  if (first.type !== RECORD.head || first['version'] !== JOURNAL_VERSION) {
    return failure(qiError('INVALID_JOURNAL', `run ${runId}'s journal is not a version ${JOURNAL_VERSION} qicoord journal (written by another qicoord version); start the run again`, { runId, version: first['version'] }));
  }
  const head = first as unknown as JournalHead;
  if (expectFingerprint !== undefined && head.fingerprint !== expectFingerprint) {
    return failure(qiError('INVALID_JOURNAL', `run ${runId} was started with another task, strategy or config than it is resumed with (fingerprint mismatch); resume with the originals, or start a new run`, { runId }));
  }
  const lock = acquireRunLock(runDir, runId);
  if (lock.tag === 'failure') return lock;
  const journal = openJournal(runDir, runId, lock.value, contents.value.droppedTail ? contents.value.goodBytes : undefined);
  if (journal.tag === 'failure') return journal;
  const ended = events.find((e) => e.type === RECORD.ended);
  return success({ head, events, ...(ended === undefined ? {} : { ended }), journal: journal.value });
}
