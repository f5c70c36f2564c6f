import type { ResourceUsage } from '../schemas/resources.js';
import type { JournalRecord } from './record.js';

/**
 * The compact line for the record every subtask writes. A run of consecutive
 * `subtask-succeeded` records that go out in one write becomes one `events` record:
 * `{"type":"events","t":t0,"a":[agentId,…],"u":[usage,…],"e":[[index,subtaskId,attempt,agent,startedAt-t0,at-t0,outputs[,usage]],…]}`,
 * in their order, where `agent` is a position in `a`, times are ms after `t0` (the first
 * start), and `usage` a position in `u`, whose rows are memoryMB, executionTimeMs, toolCalls,
 * networkRequests, fileOperations[, cpuPercent] (absent: the record had none). On a run of
 * thousands of trivial subtasks a second, a record each (its keys, its line, its checksum) cost
 * the coordinator three times what one array per write does; the agent table and relative times
 * make the line 40 % shorter again. A success's usage is its agent's latest snapshot, which the
 * agent replaces now and then: in a bench run 82 of 2,000 successes had a snapshot their agent's
 * previous success had not, so a row is written once per snapshot, not once per success (the
 * usage figures were 40 % of a group's encoding in a loop; timed inside a run, encoding fell from
 * ~0.69 to ~0.60 µs a success, and lines from ~60 to ~40 bytes). Reading a journal expands the
 * group back into the records it stands for, so nothing past the reader sees it.
 */
export const GROUP_TYPE = 'events';

const SUCCEEDED = 'subtask-succeeded';
/** Items: seven fields, and the usage row when the success had usage. */
const PLAIN_ITEM = 7;

const isNumber = (v: unknown): v is number => typeof v === 'number';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isIndex = (v: unknown, length: number): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) < length;

/**
 * Whether a queued entry may go into a group: a success with the fields a group keeps, of their
 * kinds — times whole ms, so that one less another is exact — (anything else: a record
 * serialized already, another record, a record of another shape, is written as it is, so a group
 * always reads back as what was appended).
 */
export function groupable(entry: JournalRecord | string): entry is JournalRecord {
  if (typeof entry === 'string' || entry.type !== SUCCEEDED) return false;
  const r = entry as Record<string, unknown>;
  return (
    typeof r['index'] === 'number' &&
    typeof r['subtaskId'] === 'string' &&
    typeof r['attempt'] === 'number' &&
    typeof r['agentId'] === 'string' &&
    Number.isSafeInteger(r['startedAt']) &&
    Number.isSafeInteger(r['at']) &&
    isObject(r['outputs']) &&
    (r['usage'] === undefined || isObject(r['usage']))
  );
}

/** The JSON text of the group of `entries[from..to)`, all groupable. */
export function groupJson(entries: readonly (JournalRecord | string)[], from: number, to: number): string {
  const agents: string[] = [];
  const rows: number[][] = [];
  // Per agent (by its position): its last success's usage snapshot and that snapshot's row.
  const lastUsage: (ResourceUsage | undefined)[] = [];
  const lastRow: number[] = [];
  const t0 = (entries[from] as Record<string, unknown>)['startedAt'] as number;
  const e: unknown[] = [];
  for (let i = from; i < to; i++) {
    const r = entries[i] as Record<string, unknown>;
    // A group's agents are few (those that ended subtasks in the last few ms): a scan beats a map.
    let agent = agents.indexOf(r['agentId'] as string);
    if (agent < 0) agent = agents.push(r['agentId'] as string) - 1;
    const u = r['usage'] as ResourceUsage | undefined;
    const item = [r['index'], r['subtaskId'], r['attempt'], agent, (r['startedAt'] as number) - t0, (r['at'] as number) - t0, r['outputs']];
    if (u !== undefined) {
      if (lastUsage[agent] !== u) {
        lastUsage[agent] = u;
        lastRow[agent] = rows.push(u.cpuPercent === undefined ? [u.memoryMB, u.executionTimeMs, u.toolCalls, u.networkRequests, u.fileOperations] : [u.memoryMB, u.executionTimeMs, u.toolCalls, u.networkRequests, u.fileOperations, u.cpuPercent]) - 1;
      }
      item.push(lastRow[agent]);
    }
    e.push(item);
  }
  return JSON.stringify({ type: GROUP_TYPE, t: t0, a: agents, u: rows, e });
}

/**
 * The records a record read back stands for: itself, or — for a group — the records in it. A
 * group with an item of the wrong shape is not a group this qicoord wrote: undefined (the reader
 * treats its line as damaged).
 */
export function expandRecord(record: JournalRecord): JournalRecord[] | undefined {
  if (record.type !== GROUP_TYPE) return [record];
  const { t: t0, a: agents, u: rows, e: items } = record;
  if (!Number.isSafeInteger(t0) || !Array.isArray(agents) || !agents.every((a) => typeof a === 'string') || !Array.isArray(rows) || !rows.every(isUsageRow) || !Array.isArray(items)) {
    return undefined;
  }
  const out: JournalRecord[] = [];
  for (const item of items) {
    const r = Array.isArray(item) ? expandItem(item, t0 as number, agents as string[], rows as UsageRow[]) : undefined;
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

/** A usage row: five or six figures (a figure JSON could not write, NaN, reads back null, as it would in a usage object). */
type UsageRow = readonly (number | null)[];

function isUsageRow(row: unknown): row is UsageRow {
  return Array.isArray(row) && (row.length === 5 || row.length === 6) && row.every((v) => isNumber(v) || v === null);
}

function expandItem(item: readonly unknown[], t0: number, agents: readonly string[], rows: readonly UsageRow[]): JournalRecord | undefined {
  const [index, subtaskId, attempt, agent, startedAfter, endedAfter, outputs, row] = item;
  if (item.length !== PLAIN_ITEM && item.length !== PLAIN_ITEM + 1) return undefined;
  if (!isNumber(index) || typeof subtaskId !== 'string' || !isNumber(attempt) || !isObject(outputs) || !isIndex(agent, agents.length)) return undefined;
  const startedAt = t0 + (startedAfter as number);
  const at = t0 + (endedAfter as number);
  if (!Number.isSafeInteger(startedAfter) || !Number.isSafeInteger(endedAfter) || !Number.isSafeInteger(startedAt) || !Number.isSafeInteger(at)) return undefined;
  const agentId = agents[agent]!;
  if (item.length === PLAIN_ITEM) return { type: SUCCEEDED, index, subtaskId, attempt, outputs, agentId, startedAt, at };
  if (!isIndex(row, rows.length)) return undefined;
  // A usage object of its own for each record (they are handed on to reports).
  const [memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations, cpuPercent] = rows[row]!;
  const usage = { memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations, ...(rows[row]!.length === 6 ? { cpuPercent } : {}) };
  return { type: SUCCEEDED, index, subtaskId, attempt, outputs, usage, agentId, startedAt, at };
}
