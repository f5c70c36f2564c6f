import { crc32 } from 'node:zlib';
import { exceedsDepth } from '../protocol/depth.js';

/**
 * One journal line: the CRC-32 of the JSON (8 hex digits), a space, the JSON, a newline. The
 * checksum tells a torn or corrupted line from a good one; a record is plain JSON (`type` names
 * its kind: `head`, then the run's events), so the journal reads with `cut -d' ' -f2- | jq`.
 */
export interface JournalRecord {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** Largest record accepted on read (a journal on disk is untrusted input too). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** Deepest nesting accepted on read. */
export const MAX_RECORD_DEPTH = 96;

const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** Encodes a record as one line (checksum, space, JSON, newline). */
export function encodeRecord(record: JournalRecord): string {
  return encodeJson(recordJson(record));
}

/**
 * The JSON text of a record. The two records every subtask writes (`subtask-started`,
 * `subtask-succeeded`) are spelled out field by field when they have exactly their usual fields
 * of their usual kinds: that skips the generic walk of the whole object, the journal's largest
 * own cost in a profile of the throughput case. Anything else — another type, a missing or extra
 * field, a number JSON cannot spell (NaN) — goes through JSON.stringify, so the text always
 * parses back to what JSON.stringify(record) would.
 */
export function recordJson(record: JournalRecord): string {
  if (record.type === 'subtask-started' && isStarted(record)) {
    return `{"type":"subtask-started","index":${record.index},"subtaskId":${JSON.stringify(record.subtaskId)},"attempt":${record.attempt},"agentId":${JSON.stringify(record.agentId)},"at":${record.at}}`;
  }
  if (record.type === 'subtask-succeeded' && isSucceeded(record)) {
    const usage = record.usage === undefined ? '' : `,"usage":${JSON.stringify(record.usage)}`;
    return `{"type":"subtask-succeeded","index":${record.index},"subtaskId":${JSON.stringify(record.subtaskId)},"attempt":${record.attempt},"outputs":${JSON.stringify(record.outputs)}${usage},"at":${record.at}}`;
  }
  return JSON.stringify(record);
}

interface Started extends JournalRecord {
  readonly index: number;
  readonly subtaskId: string;
  readonly attempt: number;
  readonly agentId: string;
  readonly at: number;
}

interface Succeeded extends JournalRecord {
  readonly index: number;
  readonly subtaskId: string;
  readonly attempt: number;
  readonly outputs: object;
  readonly usage?: object | null;
  readonly at: number;
}

/** Own enumerable keys, counted without building an array (this runs for every record). */
function keyCount(record: object): number {
  let n = 0;
  for (const key in record) if (Object.hasOwn(record, key)) n++;
  return n;
}

/** A finite number: written as `${n}`, which is what JSON.stringify writes for it. */
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isStarted(r: JournalRecord): r is Started {
  return finite(r['index']) && typeof r['subtaskId'] === 'string' && finite(r['attempt']) && typeof r['agentId'] === 'string' && finite(r['at']) && keyCount(r) === 6;
}

function isSucceeded(r: JournalRecord): r is Succeeded {
  const outputs = r['outputs'];
  const usage = r['usage'];
  if (!finite(r['index']) || typeof r['subtaskId'] !== 'string' || !finite(r['attempt']) || !finite(r['at'])) return false;
  // Outputs and usage are written with JSON.stringify, as the generic path would; a value it
  // would drop or spell otherwise (a function, toJSON returning nothing) takes the generic path.
  if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs) || typeof (outputs as { toJSON?: unknown }).toJSON === 'function') return false;
  if (usage !== undefined && (typeof usage !== 'object' || (usage !== null && typeof (usage as { toJSON?: unknown }).toJSON === 'function'))) return false;
  // 'usage' may be absent, or present and undefined (both omitted, as JSON.stringify omits it).
  return keyCount(r) === (Object.hasOwn(r, 'usage') ? 7 : 6);
}

/** Encodes the JSON text of a record (an object with a string `type`) as one line. */
export function encodeJson(json: string): string {
  return `${hex(crc32(json))} ${json}\n`;
}

/** Why a line could not be read back. */
export type DecodeProblem = 'torn' | 'checksum' | 'json' | 'shape' | 'size' | 'depth';

/** Decodes one line (without its newline): the record, or why it is not one. */
export function decodeRecord(line: string): { ok: true; record: JournalRecord } | { ok: false; problem: DecodeProblem } {
  if (line.length > MAX_RECORD_BYTES) return { ok: false, problem: 'size' };
  const space = line.indexOf(' ');
  if (space !== 8) return { ok: false, problem: 'torn' };
  const json = line.slice(9);
  if (hex(crc32(json)) !== line.slice(0, 8)) return { ok: false, problem: 'checksum' };
  let value: unknown;
  try {
    // A `__proto__` key (written plainly or with \u escapes) is dropped; the reviver that does it
    // makes parsing several times slower, so it runs only for lines that could hold one.
    value = json.includes('__proto__') || json.includes('\\u') ? JSON.parse(json, (key, v: unknown) => (key === '__proto__' ? undefined : v)) : JSON.parse(json);
  } catch {
    return { ok: false, problem: 'json' };
  }
  if (exceedsDepth(value, MAX_RECORD_DEPTH)) return { ok: false, problem: 'depth' };
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as { type?: unknown }).type !== 'string') {
    return { ok: false, problem: 'shape' };
  }
  return { ok: true, record: value as JournalRecord };
}
