import { bar, seconds } from './format.js';
import { clip, fittedTable, type FlexColumn } from './fit.js';
import type { AgentRow, ProgressModel } from './model.js';

/** The live table's columns, by importance: agent, status, subtask and progress stay longest. */
const COLUMNS: readonly FlexColumn[] = [
  { title: 'AGENT', width: 20, min: 12, priority: 1, grow: 2 },
  { title: 'TYPE', width: 16, min: 8, priority: 9 },
  { title: 'STATUS', width: 10, min: 10, priority: 2 },
  { title: 'SUBTASK', width: 20, min: 10, priority: 3, grow: 1 },
  { title: 'PROGRESS', width: 13, min: 13, priority: 4 },
  { title: 'CPU%', width: 5, min: 4, priority: 7 },
  { title: 'RSS MB', width: 6, min: 6, priority: 6 },
  { title: 'TOOLS', width: 5, min: 5, priority: 8 },
  { title: 'ELAPSED', width: 7, min: 7, priority: 5 },
];

const ACTIVE = new Set(['starting', 'initializing', 'ready', 'executing']);

/** An agent id without its coordinator's prefix (`qicoord.sa3-1f2c…` → `sa3-1f2c…`): the part that tells agents apart. */
function shortId(agentId: string): string {
  const dot = agentId.lastIndexOf('.');
  return dot < 0 ? agentId : agentId.slice(dot + 1);
}

/** A subtask as the table shows it: a delegated one indented by its depth under its parent. */
function subtaskCell(m: ProgressModel, subtask: string): string {
  const depth = m.depthOf(subtask);
  return depth === 0 ? subtask : `${'  '.repeat(depth - 1)}└ ${subtask}`;
}

function cells(m: ProgressModel, r: AgentRow, now: number): string[] {
  return [
    shortId(r.agentId),
    r.plugin === '' ? r.type : `${r.type}/${r.plugin}`,
    r.status,
    subtaskCell(m, r.subtask),
    `${bar(r.progress, 8)} ${Math.round(r.progress * 100)}%`,
    r.cpuPercent === undefined ? '' : Math.round(r.cpuPercent).toString(),
    r.rssMB === undefined ? '' : Math.round(r.rssMB).toString(),
    r.toolCalls.toString(),
    seconds((r.status === 'executing' || r.status === 'ready' ? now : r.lastSeen) - r.firstSeen),
  ];
}

/** The overall line: a bar and counts that add up (ok + failed + cancelled + skipped = finished). */
export function overallLine(m: ProgressModel, now: number, columns: number): string {
  const counts = [`${m.succeeded} ok`, `${m.failed} failed`, ...(m.cancelled > 0 ? [`${m.cancelled} cancelled`] : []), ...(m.skipped > 0 ? [`${m.skipped} skipped`] : [])];
  const tail = `${Math.round(m.fraction * 100)}%  ${m.finished}/${m.total} subtasks (${counts.join(', ')})  ${seconds(now - m.startedAt)}`;
  const barWidth = Math.max(0, Math.min(30, columns - tail.length - 10));
  return clip(barWidth >= 5 ? `overall ${bar(m.fraction, barWidth)} ${tail}` : `overall ${tail}`, columns);
}

/**
 * The live table as lines, a pure function of the model, the time and the window: never wider
 * than `columns - 1` (no auto-wrap) nor taller than `rows - 1` (the cursor's line stays free, so a
 * redraw never scrolls). Rows that do not fit are summarized as "… and N more agents"; active
 * agents are shown first.
 */
export function renderFrame(m: ProgressModel, now: number, columns: number, rows: number): string[] {
  const width = Math.max(10, columns - 1);
  const height = Math.max(1, rows - 1);
  const overall = overallLine(m, now, width);
  const agents = [...m.agents.values()];
  if (agents.length === 0 || height < 3) return [overall];
  const ordered = [...m.nested(agents.filter((r) => ACTIVE.has(r.status))), ...agents.filter((r) => !ACTIVE.has(r.status))];
  // header + agent rows + overall; one row gives way to the "more" line when they do not all fit.
  const room = height - 2;
  const shown = ordered.length <= room ? ordered : ordered.slice(0, Math.max(0, room - 1));
  const lines = fittedTable(COLUMNS, shown.map((r) => cells(m, r, now)), width);
  if (shown.length < ordered.length) lines.push(clip(`… and ${ordered.length - shown.length} more agents`, width));
  return [...lines, overall];
}
