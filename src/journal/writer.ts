import { closeSync, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { CrashSwitch } from './crash-switch.js';
import type { JournalRecord } from './record.js';
import { encodeRecord } from './record.js';

/**
 * Appends records to one journal file. The records of one turn of the event loop go out in one
 * write at its end (a torn last line is dropped by the reader); `durable()` makes everything
 * appended so far reach the disk (write, then fdatasync) before the promise resolves, and
 * batches: the records of one turn share one fdatasync (group commit). Records that later work
 * depends on — a subtask's success and outputs — are followed by `await durable()` before that
 * work starts.
 */
export class JournalWriter {
  private fd: number | undefined;
  private unsynced = false;
  private pending: Promise<Result<void, QiError>> | undefined;
  /** Lines appended in this turn of the event loop, written together at its end (one write call). */
  private buffered: string[] = [];
  private flushScheduled = false;
  /** The first write error, reported by the next append, durable() or close(). */
  private writeFailure: QiError | undefined;
  /** Records this writer has written to the file (the crash switch counts these). */
  private written = 0;

  private constructor(
    readonly file: string,
    fd: number,
    private readonly crash: CrashSwitch | undefined,
  ) {
    this.fd = fd;
  }

  /**
   * Opens (creating) the file for appending; `truncateTo` cuts a dropped torn tail first; `crash`
   * arms the testing crash switch (crash-switch.ts).
   */
  static open(file: string, truncateTo?: number, crash?: CrashSwitch): Result<JournalWriter, QiError> {
    try {
      const fd = openSync(file, 'a', 0o600);
      if (truncateTo !== undefined) ftruncateSync(fd, truncateTo);
      return success(new JournalWriter(file, fd, crash));
    } catch (e) {
      return failure(writeError(file, e));
    }
  }

  /**
   * Appends one record. Records appended in one turn of the event loop are written together at
   * its end (a coordinator that dies loses at most that turn's records, which the run had not
   * acted on yet); a failed write (disk full) is reported by the next call, never thrown.
   */
  append(record: JournalRecord): Result<void, QiError> {
    if (this.fd === undefined) return failure(qiError('INVALID_JOURNAL', `journal ${this.file} is closed`, { file: this.file }));
    if (this.writeFailure !== undefined) return failure(this.writeFailure);
    this.buffered.push(encodeRecord(record));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return success(undefined);
  }

  /** Writes the buffered lines now. */
  private flush(): Result<void, QiError> {
    this.flushScheduled = false;
    if (this.buffered.length === 0 || this.fd === undefined) return this.writeFailure === undefined ? success(undefined) : failure(this.writeFailure);
    if (this.crash !== undefined && this.written + this.buffered.length >= this.crash.atRecord) this.crashNow(this.fd, this.crash);
    const text = this.buffered.length === 1 ? this.buffered[0]! : this.buffered.join('');
    this.written += this.buffered.length;
    this.buffered = [];
    try {
      writeSync(this.fd, text);
      this.unsynced = true;
      return success(undefined);
    } catch (e) {
      this.writeFailure ??= writeError(this.file, e);
      return failure(this.writeFailure);
    }
  }

  /**
   * The crash switch fired: writes the records before record N, then all of N or half of its
   * bytes, and SIGKILLs this process (nothing else is flushed, as in a real kill).
   */
  private crashNow(fd: number, crash: CrashSwitch): never {
    const upTo = crash.atRecord - this.written;
    const last = Buffer.from(this.buffered[upTo - 1]!);
    const head = Buffer.from(this.buffered.slice(0, upTo - 1).join(''));
    writeSync(fd, Buffer.concat([head, crash.torn ? last.subarray(0, Math.floor(last.length / 2)) : last]));
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL of oneself is delivered before kill() returns; this only satisfies the type.
    throw new Error('unreachable: SIGKILL did not end the process');
  }

  /** Resolves once every record appended so far is on disk (one fdatasync per batch). */
  durable(): Promise<Result<void, QiError>> {
    if (!this.unsynced && this.buffered.length === 0) return Promise.resolve(this.writeFailure === undefined ? success(undefined) : failure(this.writeFailure));
    this.pending ??= new Promise((resolve) => {
      setImmediate(() => {
        this.pending = undefined;
        resolve(this.sync());
      });
    });
    return this.pending;
  }

  private sync(): Result<void, QiError> {
    const flushed = this.flush();
    if (flushed.tag === 'failure') return flushed;
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
