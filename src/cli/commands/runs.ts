import path from 'node:path';
import { success } from '@qi/base';
import { qiError } from '../../errors/catalogue.js';
import { DEFAULT_JOURNAL_DIR, listRuns, pruneRuns, type RunSummary } from '../../journal/runs.js';
import { EXIT, printJson, reportFailure, type CommandResult, type OutputMode } from '../output.js';
import { table } from '../progress/format.js';

export const runsHelp = `Usage: qicoord runs [--journal DIR] [--prune DAYS] [--json]

Lists the journaled runs (newest first): id, task, status (running, interrupted, succeeded,
failed), subtasks succeeded/failed of the total, start and end times.

Options:
  --journal DIR   the journal folder (default: ${DEFAULT_JOURNAL_DIR} in the current folder)
  --prune DAYS    remove finished and interrupted runs whose journal is older than DAYS days
                  (a running run is never removed)
  --json          one JSON document (the Result) on stdout

An interrupted run continues with 'qicoord resume RUN_ID'.`;

export interface RunsOptions {
  readonly journal?: string | undefined;
  readonly prune?: string | undefined;
  readonly mode: OutputMode;
}

function time(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function render(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return 'no journaled runs\n';
  const rows = runs.map((r) => [r.runId, r.taskId, r.status + (r.pid === undefined ? '' : ` (pid ${r.pid})`), `${r.subtasks.succeeded}/${r.subtasks.failed}/${r.subtasks.total}`, time(r.startedAt), time(r.endedAt)]);
  const titles = ['RUN', 'TASK', 'STATUS', 'OK/FAILED/ALL', 'STARTED', 'ENDED'];
  const columns = titles.map((title, i) => ({ title, width: Math.max(title.length, ...rows.map((row) => row[i]!.length)) }));
  return `${table(columns, rows).join('\n')}\n`;
}

export async function runsCommand(o: RunsOptions): CommandResult {
  const dir = path.resolve(o.journal ?? DEFAULT_JOURNAL_DIR);
  if (o.prune !== undefined) {
    const days = Number(o.prune);
    if (!Number.isFinite(days) || days < 0) {
      return reportFailure({ tag: 'failure', error: qiError('INVALID_CONFIG', `--prune takes a number of days (0 or more), not '${o.prune}'. Fix: e.g. --prune 30`, { prune: o.prune }) }, o.mode);
    }
    const removed = pruneRuns(dir, days);
    if (removed.tag === 'failure') return reportFailure(removed, o.mode);
    if (o.mode.json) printJson(success({ removed: removed.value }));
    else process.stdout.write(`removed ${removed.value.length} run${removed.value.length === 1 ? '' : 's'}${removed.value.length === 0 ? '' : `: ${removed.value.join(', ')}`}\n`);
    return EXIT.ok;
  }
  const runs = listRuns(dir);
  if (runs.tag === 'failure') return reportFailure(runs, o.mode);
  if (o.mode.json) printJson(runs);
  else process.stdout.write(render(runs.value));
  return EXIT.ok;
}
