import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { lockHolder, pidAlive } from './lock.js';
import { readJournal } from './read.js';
import type { JournalRecord } from './record.js';

/** The journal file of a run, inside its folder. */
export const JOURNAL_FILE = 'journal.jsonl';

/** Where `qicoord run` keeps journals by default, under the working directory. */
export const DEFAULT_JOURNAL_DIR = path.join('.qicoord', 'runs');

/** Record kinds the run listing reads (the run's own events carry these `type` values). */
export const RECORD = {
  head: 'head',
  succeeded: 'subtask-succeeded',
  failed: 'subtask-failed',
  ended: 'run-ended',
} as const;

export type RunStatus = 'running' | 'interrupted' | 'succeeded' | 'failed';

/** One line of `qicoord runs`. */
export interface RunSummary {
  readonly runId: string;
  readonly taskId: string;
  readonly status: RunStatus;
  readonly subtasks: { readonly total: number; readonly succeeded: number; readonly failed: number };
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  /** The process running it now (status `running`). */
  readonly pid?: number;
  readonly dir: string;
}

const iso = (ms: unknown): string | null => (typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/** The summary of one run's records (pure; `liveHolder` is the pid holding its lock, if alive). */
export function summarizeRun(runId: string, dir: string, records: readonly JournalRecord[], liveHolder: number | undefined): RunSummary {
  const head = records[0]?.type === RECORD.head ? records[0] : undefined;
  const outcome = new Map<string, 'succeeded' | 'failed'>();
  let ended: JournalRecord | undefined;
  for (const r of records) {
    if (r.type === RECORD.succeeded && typeof r['subtaskId'] === 'string') outcome.set(r['subtaskId'], 'succeeded');
    else if (r.type === RECORD.failed && typeof r['subtaskId'] === 'string') outcome.set(r['subtaskId'], 'failed');
    else if (r.type === RECORD.ended) ended = r;
  }
  const succeeded = [...outcome.values()].filter((o) => o === 'succeeded').length;
  const failed = outcome.size - succeeded;
  const total = typeof head?.['subtaskCount'] === 'number' ? head['subtaskCount'] : outcome.size;
  // A run cancelled (Ctrl-C) can be resumed like one that was killed.
  const finished = ended !== undefined && ended['status'] !== 'cancelled';
  const status: RunStatus = finished ? (ended?.['status'] === 'completed' ? 'succeeded' : 'failed') : liveHolder !== undefined ? 'running' : 'interrupted';
  return {
    runId,
    taskId: typeof head?.['taskId'] === 'string' ? head['taskId'] : 'unknown',
    status,
    subtasks: { total, succeeded, failed },
    startedAt: iso(head?.['startedAt']),
    endedAt: iso(ended?.['at']),
    ...(status === 'running' && liveHolder !== undefined ? { pid: liveHolder } : {}),
    dir,
  };
}

/** The summary of the run in `runDir` (its journal read, its lock checked). */
export function describeRun(runDir: string): Result<RunSummary, QiError> {
  const contents = readJournal(path.join(runDir, JOURNAL_FILE));
  if (contents.tag === 'failure') return contents;
  const holder = lockHolder(path.join(runDir, 'lock'));
  return success(summarizeRun(path.basename(runDir), runDir, contents.value.records, holder !== undefined && pidAlive(holder) ? holder : undefined));
}

/** Every run under a journal folder, newest first; runs whose journal cannot be read are skipped. */
export function listRuns(journalDir: string): Result<RunSummary[], QiError> {
  if (!existsSync(journalDir)) return success([]);
  let names: string[];
  try {
    names = readdirSync(journalDir);
  } catch (e) {
    return failure(qiError('JOURNAL_UNAVAILABLE', `cannot read the journal folder ${journalDir}: ${e instanceof Error ? e.message : String(e)}`, { journalDir }));
  }
  const runs: RunSummary[] = [];
  for (const name of names) {
    const dir = path.join(journalDir, name);
    if (!existsSync(path.join(dir, JOURNAL_FILE))) continue;
    const run = describeRun(dir);
    if (run.tag === 'success') runs.push(run.value);
  }
  return success(runs.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? '')));
}

/**
 * Removes finished and interrupted runs older than `days` (by their journal's last change);
 * a running run is never removed. Returns the removed run ids.
 */
export function pruneRuns(journalDir: string, days: number, now = Date.now()): Result<string[], QiError> {
  const runs = listRuns(journalDir);
  if (runs.tag === 'failure') return runs;
  const cutoff = now - days * 24 * 60 * 60 * 1000;
  const removed: string[] = [];
  for (const run of runs.value) {
    if (run.status === 'running') continue;
    try {
      if (statSync(path.join(run.dir, JOURNAL_FILE)).mtimeMs >= cutoff) continue;
      rmSync(run.dir, { recursive: true, force: true });
      removed.push(run.runId);
    } catch (e) {
      return failure(qiError('JOURNAL_UNAVAILABLE', `cannot remove run ${run.runId} (${run.dir}): ${e instanceof Error ? e.message : String(e)}`, { runId: run.runId }));
    }
  }
  return success(removed);
}
