import { crc32 } from 'node:zlib';
import type { JournalRecord } from '../../src/journal/record.js';
import { recordJson } from '../../src/journal/record.js';

/**
 * The journal's line format (record.ts) built as a string: the reference the writer's byte
 * batches are checked against, and how tests write journals by hand (torn, edited, hostile).
 */
export function encodeJson(json: string): string {
  return `${(crc32(json) >>> 0).toString(16).padStart(8, '0')} ${json}\n`;
}

/** A record's line (checksum, space, JSON, newline). */
export function encodeRecord(record: JournalRecord): string {
  return encodeJson(recordJson(record));
}
