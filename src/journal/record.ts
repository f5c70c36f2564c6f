import { crc32 } from 'node:zlib';
import { exceedsDepth } from '../protocol/depth.js';

/**
 * One journal line: the CRC-32 of the JSON (8 hex digits), a space, the JSON, a newline (written
 * by batch.ts, straight into a write's bytes; read back by `decodeRecord`). The
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

/**
 * The JSON text of a record: JSON.stringify. (A field-by-field encoder of the two records every
 * subtask writes was measured in the running coordinator against this, and was no faster: the
 * checks that it may be used — the exact fields, their kinds — cost what it saved.)
 */
export function recordJson(record: JournalRecord): string {
  return JSON.stringify(record);
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
