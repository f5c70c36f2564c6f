import type { ResourceUsage } from '../schemas/resources.js';
import type { JournalRecord } from './record.js';

/**
 * The compact line for the two records every subtask writes. A run of consecutive
 * `subtask-started` and `subtask-succeeded` records that go out in one write becomes one
 * `events` record: `{"type":"events","e":[[0,index,subtaskId,attempt,agentId,at],
 * [1,index,subtaskId,attempt,at,outputs,...usage],…]}`, in their order, where usage is
 * memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations[, cpuPercent] (or absent).
 * On a run of thousands of trivial subtasks a second, a record each (its keys, its line, its
 * checksum) cost the coordinator three times what one array per write does (measured in a loop:
 * ~2 µs a subtask against ~0.6); reading a journal expands the group back into the records it
 * stands for, so nothing past the reader sees it.
 */
export const GROUP_TYPE = 'events';

const STARTED = 'subtask-started';
const SUCCEEDED = 'subtask-succeeded';
const STARTED_TAG = 0;
const SUCCEEDED_TAG = 1;

const isNumber = (v: unknown): v is number => typeof v === 'number';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether a queued entry may go into a group: a start or success with the fields a group keeps,
 * of their kinds (anything else — an encoded line, another record, a record of another shape —
 * is written as it is, so a group always reads back as what was appended).
 */
export function groupable(entry: JournalRecord | string): entry is JournalRecord {
  if (typeof entry === 'string') return false;
  const r = entry as Record<string, unknown>;
  if (typeof r['index'] !== 'number' || typeof r['subtaskId'] !== 'string' || typeof r['attempt'] !== 'number' || typeof r['at'] !== 'number') return false;
  if (entry.type === STARTED) return typeof r['agentId'] === 'string';
  return entry.type === SUCCEEDED && isObject(r['outputs']) && (r['usage'] === undefined || isObject(r['usage']));
}

/** The JSON text of the group of `entries[from..to)`, all groupable. */
export function groupJson(entries: readonly (JournalRecord | string)[], from: number, to: number): string {
  const e: unknown[] = [];
  for (let i = from; i < to; i++) {
    const r = entries[i] as Record<string, unknown>;
    if (r['type'] === STARTED) {
      e.push([STARTED_TAG, r['index'], r['subtaskId'], r['attempt'], r['agentId'], r['at']]);
      continue;
    }
    const u = r['usage'] as ResourceUsage | undefined;
    const item = [SUCCEEDED_TAG, r['index'], r['subtaskId'], r['attempt'], r['at'], r['outputs']];
    if (u !== undefined) {
      item.push(u.memoryMB, u.executionTimeMs, u.toolCalls, u.networkRequests, u.fileOperations);
      if (u.cpuPercent !== undefined) item.push(u.cpuPercent);
    }
    e.push(item);
  }
  return JSON.stringify({ type: GROUP_TYPE, e });
}

/**
 * The records a record read back stands for: itself, or — for a group — the records in it. A
 * group with an item of the wrong shape is not a group this qicoord wrote: undefined (the reader
 * treats its line as damaged).
 */
export function expandRecord(record: JournalRecord): JournalRecord[] | undefined {
  if (record.type !== GROUP_TYPE) return [record];
  const items = record['e'];
  if (!Array.isArray(items)) return undefined;
  const out: JournalRecord[] = [];
  for (const item of items) {
    const r = Array.isArray(item) ? expandItem(item) : undefined;
    if (r === undefined) return undefined;
    out.push(r);
  }
  return out;
}

function expandItem(item: readonly unknown[]): JournalRecord | undefined {
  const [tag, index, subtaskId, attempt] = item;
  if (!isNumber(index) || typeof subtaskId !== 'string' || !isNumber(attempt)) return undefined;
  if (tag === STARTED_TAG) {
    const [, , , , agentId, at] = item;
    if (item.length !== 6 || typeof agentId !== 'string' || !isNumber(at)) return undefined;
    return { type: STARTED, index, subtaskId, attempt, agentId, at };
  }
  if (tag !== SUCCEEDED_TAG || (item.length !== 6 && item.length !== 11 && item.length !== 12)) return undefined;
  const [, , , , at, outputs] = item;
  if (!isNumber(at) || !isObject(outputs)) return undefined;
  if (item.length === 6) return { type: SUCCEEDED, index, subtaskId, attempt, outputs, at };
  // A usage figure JSON could not write (NaN) reads back null, as it would in a usage object.
  const figures = item.slice(6);
  if (!figures.every((v) => isNumber(v) || v === null)) return undefined;
  const [memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations, cpuPercent] = figures;
  const usage = { memoryMB, executionTimeMs, toolCalls, networkRequests, fileOperations, ...(item.length === 12 ? { cpuPercent } : {}) };
  return { type: SUCCEEDED, index, subtaskId, attempt, outputs, usage, at };
}
