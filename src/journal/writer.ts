import { closeSync, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { JournalRecord } from './record.js';
import { encodeRecord } from './record.js';

/**
 * Appends records to one journal file. Every append is written at once (a crash loses at most
 * the line being written, which the reader drops); `durable()` makes everything appended so far
 * reach the disk (fdatasync) before the promise resolves, and batches: the records appended in
 * one turn of the event loop share one fdatasync (group commit). Records that later work
 * depends on — a subtask's success and outputs — are followed by `await durable()` before that
 * work starts.
 */
export class JournalWriter {
  private fd: number | undefined;
  private unsynced = false;
  private pending: Promise<Result<void, QiError>> | undefined;

  private constructor(
    readonly file: string,
    fd: number,
  ) {
    this.fd = fd;
  }

  /** Opens (creating) the file for appending; `truncateTo` cuts a dropped torn tail first. */
  static open(file: string, truncateTo?: number): Result<JournalWriter, QiError> {
    try {
      const fd = openSync(file, 'a', 0o600);
      if (truncateTo !== undefined) ftruncateSync(fd, truncateTo);
      return success(new JournalWriter(file, fd));
    } catch (e) {
      return failure(writeError(file, e));
    }
  }

  /** Appends one record; a failed write (disk full, closed) is a failure, never a throw. */
  append(record: JournalRecord): Result<void, QiError> {
    if (this.fd === undefined) return failure(qiError('INVALID_JOURNAL', `journal ${this.file} is closed`, { file: this.file }));
    try {
      writeSync(this.fd, encodeRecord(record));
      this.unsynced = true;
      return success(undefined);
    } catch (e) {
      return failure(writeError(this.file, e));
    }
  }

  /** Resolves once every record appended so far is on disk (one fdatasync per batch). */
  durable(): Promise<Result<void, QiError>> {
    if (!this.unsynced) return Promise.resolve(success(undefined));
    this.pending ??= new Promise((resolve) => {
      setImmediate(() => {
        this.pending = undefined;
        resolve(this.sync());
      });
    });
    return this.pending;
  }

  private sync(): Result<void, QiError> {
    if (this.fd === undefined || !this.unsynced) return success(undefined);
    try {
      fdatasyncSync(this.fd);
      this.unsynced = false;
      return success(undefined);
    } catch (e) {
      return failure(writeError(this.file, e));
    }
  }

  /** Syncs and closes; later appends fail. */
  close(): Result<void, QiError> {
    const synced = this.sync();
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // Already closed.
      }
      this.fd = undefined;
    }
    return synced;
  }
}

function writeError(file: string, e: unknown): QiError {
  const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
  return qiError('JOURNAL_UNAVAILABLE', `cannot write the journal ${file} (${code}): ${e instanceof Error ? e.message : String(e)}; free space, fix its permissions, or pass --journal DIR / --no-journal`, {
    file,
    errno: code,
  });
}
