import { readFileSync } from 'node:fs';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { JournalRecord } from './record.js';
import { expandRecord } from './event-group.js';
import { decodeRecord } from './record.js';

/** What was read back from a journal file. */
export interface JournalContents {
  readonly records: readonly JournalRecord[];
  /** A torn or corrupt final record was dropped (a crash while it was written). */
  readonly droppedTail: boolean;
  /** Bytes of the file that hold good records (a writer reopening it truncates to here). */
  readonly goodBytes: number;
}

/**
 * Reads a journal file. A bad final line — torn by a crash mid-write, or failing its checksum —
 * is dropped, never fatal; a bad line followed by good ones means the file was damaged after it
 * was written, and is an INVALID_JOURNAL failure naming the line. A group of records
 * (event-group.ts) comes back as the records it stands for.
 */
export function readJournal(file: string): Result<JournalContents, QiError> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return failure(qiError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_JOURNAL', `cannot read the journal ${file}: ${e instanceof Error ? e.message : String(e)}`, { file }));
  }
  // Every record ends with its newline (written in one call with it): what follows the last
  // newline is a torn record, and a bad final line a corrupt one; both are dropped.
  const lines = text.split('\n');
  const tail = lines.pop() ?? '';
  const records: JournalRecord[] = [];
  let goodBytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const decoded = decodeRecord(line);
    const expanded = decoded.ok ? expandRecord(decoded.record) : undefined;
    if (expanded === undefined) {
      const problem = decoded.ok ? 'shape' : decoded.problem;
      if (i === lines.length - 1) return success({ records, droppedTail: true, goodBytes });
      return failure(
        qiError('INVALID_JOURNAL', `journal ${file} is damaged at line ${i + 1} (${problem}), with records after it; it was changed after it was written`, {
          file,
          line: i + 1,
          problem,
        }),
      );
    }
    for (const record of expanded) records.push(record);
    goodBytes += Buffer.byteLength(line) + 1;
  }
  if (tail !== '') return success({ records, droppedTail: true, goodBytes });
  return success({ records, droppedTail: false, goodBytes });
}
