import type { CoordinationResult } from '../execution/types.js';
import { seconds, table } from './progress/format.js';
import { safeStringify } from '../util/safe-json.js';

const MAX_OUTPUT_CHARS = 4000;

/** The human summary of a run, for stdout: subtasks, the final outputs, and measured metrics. */
export function formatSummary(result: CoordinationResult, sinks: readonly string[]): string {
  const { aggregatedResult: agg, metrics: m } = result;
  const rows = agg.subtasks.map((s) => [
    s.id,
    s.status,
    s.agentId ?? '-',
    String(s.attempts),
    s.startedAt !== null && s.endedAt !== null ? seconds(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : '-',
    s.error === undefined ? '' : `[${s.error.code}] ${s.error.message.split('\n')[0]}`,
  ]);
  const lines = [
    `${result.success ? 'succeeded' : 'FAILED'}: ${agg.subtasks.filter((s) => s.status === 'succeeded').length}/${agg.subtasks.length} subtasks in ${seconds(result.executionTime)}`,
    '',
    ...table(
      [
        { title: 'SUBTASK', width: 24 },
        { title: 'STATUS', width: 9 },
        { title: 'AGENT', width: 26 },
        { title: 'TRIES', width: 5 },
        { title: 'TIME', width: 6 },
        { title: 'ERROR', width: 70 },
      ],
      rows,
    ),
  ];
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
