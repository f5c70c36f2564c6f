import type { ResourceUsage } from '../schemas/resources.js';
import type { JournalRecord } from './record.js';

/**
 * The compact line for the record every subtask writes. A run of consecutive
 * `subtask-succeeded` records that go out in one write becomes one `events` record:
 * `{"type":"events","t":t0,"a":[agentId,…],"e":[[index,subtaskId,attempt,agent,startedAt-t0,at-t0,outputs,...usage],…]}`,
 * in their order, where `agent` is a position in `a`, times are ms after `t0` (the first
 * start), and usage is memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations[,
 * cpuPercent] (or absent). On a run of thousands of trivial subtasks a second, a record each (its
 * keys, its line, its checksum) cost the coordinator three times what one array per write does;
 * the agent table and relative times make the line 40 % shorter again (~65 bytes a subtask
 * against ~108) and its encoding ~25 % faster in a loop. Reading a journal expands the group back
 * into the records it stands for, so nothing past the reader sees it.
 */
export const GROUP_TYPE = 'events';

const SUCCEEDED = 'subtask-succeeded';
/** Items: seven fields, then five or six usage figures. */
const PLAIN_ITEM = 7;

const isNumber = (v: unknown): v is number => typeof v === 'number';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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
      item.push(u.memoryMB, u.executionTimeMs, u.toolCalls, u.networkRequests, u.fileOperations);
      if (u.cpuPercent !== undefined) item.push(u.cpuPercent);
    }
    e.push(item);
  }
  return JSON.stringify({ type: GROUP_TYPE, t: t0, a: agents, e });
}

/**
 * The records a record read back stands for: itself, or — for a group — the records in it. A
 * group with an item of the wrong shape is not a group this qicoord wrote: undefined (the reader
 * treats its line as damaged).
 */
export function expandRecord(record: JournalRecord): JournalRecord[] | undefined {
  if (record.type !== GROUP_TYPE) return [record];
  const { t: t0, a: agents, e: items } = record;
  if (!Number.isSafeInteger(t0) || !Array.isArray(agents) || !agents.every((a) => typeof a === 'string') || !Array.isArray(items)) return undefined;
  const out: JournalRecord[] = [];
  for (const item of items) {
    const r = Array.isArray(item) ? expandItem(item, t0 as number, agents as string[]) : undefined;
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

function expandItem(item: readonly unknown[], t0: number, agents: readonly string[]): JournalRecord | undefined {
  const [index, subtaskId, attempt, agent, startedAfter, endedAfter, outputs] = item;
  if (item.length !== PLAIN_ITEM && item.length !== PLAIN_ITEM + 5 && item.length !== PLAIN_ITEM + 6) return undefined;
  if (!isNumber(index) || typeof subtaskId !== 'string' || !isNumber(attempt) || !isObject(outputs)) return undefined;
  if (!Number.isInteger(agent) || (agent as number) < 0 || (agent as number) >= agents.length) return undefined;
  const startedAt = t0 + (startedAfter as number);
  const at = t0 + (endedAfter as number);
  if (!Number.isSafeInteger(startedAfter) || !Number.isSafeInteger(endedAfter) || !Number.isSafeInteger(startedAt) || !Number.isSafeInteger(at)) return undefined;
  const agentId = agents[agent as number]!;
  if (item.length === PLAIN_ITEM) return { type: SUCCEEDED, index, subtaskId, attempt, outputs, agentId, startedAt, at };
  // A usage figure JSON could not write (NaN) reads back null, as it would in a usage object.
  const figures = item.slice(PLAIN_ITEM);
  if (!figures.every((v) => isNumber(v) || v === null)) return undefined;
  const [memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations, cpuPercent] = figures;
  const usage = { memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations, ...(figures.length === 6 ? { cpuPercent } : {}) };
  return { type: SUCCEEDED, index, subtaskId, attempt, outputs, usage, agentId, startedAt, at };
}
