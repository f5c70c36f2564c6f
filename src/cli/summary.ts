import type { CoordinationResult } from '../execution/types.js';
import { formatError } from './output.js';
import { fittedTable, type FlexColumn } from './progress/fit.js';
import { seconds } from './progress/format.js';
import { safeStringify } from '../util/safe-json.js';

const MAX_OUTPUT_CHARS = 4000;
/** Width of the summary when stdout is not a terminal. */
const DEFAULT_COLUMNS = 120;

const COLUMNS: readonly FlexColumn[] = [
  { title: 'SUBTASK', width: 24, min: 12, priority: 1, grow: 4 },
  { title: 'STATUS', width: 9, min: 9, priority: 1 },
  { title: 'AGENT', width: 26, min: 12, priority: 4, grow: 10 },
  { title: 'TRIES', width: 5, min: 5, priority: 5 },
  { title: 'TIME', width: 6, min: 6, priority: 3 },
  // Kept before AGENT, TRIES and TIME, but it takes only the width left once they have theirs.
  { title: 'ERROR', width: 200, min: 16, priority: 2, grow: 9 },
];

export interface SummaryOptions {
  /** The terminal's width; the table (its ERROR column first) is fitted to it. */
  readonly columns?: number | undefined;
  /** Show plugins' stacks under their errors. */
  readonly verbose?: boolean;
}

/**
 * The human summary of a run, for stdout: subtasks (the table fitted to the width, errors cut
 * there), each failed subtask's error in full with its fix, the final outputs, and measured
 * metrics whose counts add up.
 */
export function formatSummary(result: CoordinationResult, sinks: readonly string[], options: SummaryOptions = {}): string {
  const { aggregatedResult: agg, metrics: m } = result;
  const width = Math.max(40, (options.columns ?? DEFAULT_COLUMNS) - 1);
  const rows = agg.subtasks.map((s) => [
    s.id,
    s.status,
    s.agentId ?? '-',
    String(s.attempts),
    s.startedAt !== null && s.endedAt !== null ? seconds(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : '-',
    s.error === undefined ? '' : `[${s.error.code}] ${s.error.message.split('\n')[0]}`,
  ]);
  const count = (status: string): number => agg.subtasks.filter((s) => s.status === status).length;
  const tally = [`${count('succeeded')} ok`, `${count('failed')} failed`, `${count('cancelled')} cancelled`, `${count('skipped')} skipped`];
  const lines = [`${result.success ? 'succeeded' : 'FAILED'}: ${count('succeeded')}/${agg.subtasks.length} subtasks in ${seconds(result.executionTime)} (${tally.join(', ')})`, '', ...fittedTable(COLUMNS, rows, width)];
  const failed = agg.subtasks.filter((s) => s.status === 'failed' && s.error !== undefined);
  if (failed.length > 0) lines.push('', 'errors:');
  for (const s of failed) lines.push(`${s.id}: ${formatError(s.error!, options.verbose ?? false).trimEnd()}`);
  for (const id of sinks) {
    const outputs = agg.outputs[id];
    if (outputs === undefined) continue;
    const text = safeStringify(outputs, 2);
    lines.push('', `outputs of ${id}:`, text.length > MAX_OUTPUT_CHARS ? `${text.slice(0, MAX_OUTPUT_CHARS)}\n… (${text.length} characters; --json prints all)` : text);
  }
  for (const f of agg.fallbacks) lines.push('', `fallback ${f.action}: ${safeStringify(f.detail)}`);
  lines.push(
    '',
    `agents ${m.totalAgents} (${m.failedAgents} failed) · efficiency ${(m.coordinationEfficiency * 100).toFixed(0)}% · coordination ${m.communicationOverhead.toFixed(1)} ms · peak memory ${Math.round(m.totalResourceUsage.memoryMB)} MB · tool calls ${m.totalResourceUsage.toolCalls}`,
  );
  if (result.error !== undefined) lines.push(`error [${result.error.code}] ${result.error.message}`);
  return `${lines.join('\n')}\n`;
}
