import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { LineBatch } from './batch.js';
import type { CrashSwitch } from './crash-switch.js';
import { groupJson, groupable } from './event-group.js';
import type { JournalRecord } from './record.js';
import { recordJson } from './record.js';

/**
 * Longest time a record waits in the queue, in ms: appending to an empty queue arms one timer for
 * this long, and whatever is queued when it fires is written (a write barrier or `durable()`
 * wrote it first when something depended on it). What a killed coordinator can lose grows by at
 * most this window of records — never one that later work depended on (`durable()` writes and
 * syncs at once) and never an attempt number (the write barrier); a machine that loses power
 * loses every record not yet synced anyway, seconds of them. A batch's write costs ~35 µs in a
 * run whatever its size (timed inside one): at 2 ms a batch held ~60 trivial subtasks, at 8
 * ~200, and the journal's coordinator CPU per subtask fell by ~0.9 µs (60-round interleaved A/B,
 * ± 0.6). A check at the end of every turn of the event loop (setImmediate)
 * cost more than the writes: it made the loop poll once more and call into JavaScript once more
 * per turn.
 */
export const MAX_QUEUED_MS = 8;

/**
 * Largest group line (UTF-16 units of its JSON): a group of successes with big outputs is
 * written a line each instead, so no line comes near the reader's MAX_RECORD_BYTES.
 */
export const MAX_GROUP_UNITS = 1024 * 1024;

/**
 * Appends records to one journal file. Records go out in batches, one write call each: with the
 * run's next write barrier (`writeNow`) or `durable()`, or at the latest MAX_QUEUED_MS after the
 * first of them was appended.
 *
 * Appending only queues a record; it is encoded when its batch is written (records are the run's
 * events, never changed once applied, so encoding them later writes the same line). The batch is
 * written synchronously: a reserved attempt number must be on disk before an agent gets an
 * attempt with it (`writeNow(true)`, called by the run's write barrier at the agent channel: a
 * resume numbers attempts above it), which a write handed to libuv's thread pool cannot promise;
 * measured, the thread pool gained no throughput either (built again for timer batches alone,
 * every synchronous write first rewriting the bytes still in flight at their offset: −0.1 ± 0.2
 * µs of the main thread per trivial subtask, within noise, for crash-sensitive code). Successes that go out in one write
 * share one line (event-group.ts). "Killed right
 * after record N" (the crash switch) therefore means exactly records 1..N on disk (a group cut
 * after record N, when N is inside one).
 *
 * `durable()` resolves once everything appended so far is written and fdatasync-ed, one sync per
 * batch (group commit); the fdatasync runs on the thread pool. Records that later work depends
 * on — a subtask's success and outputs — are followed by `await durable()` before that work
 * starts. Writes go out in order, so the file is always a prefix of the records appended; a torn
 * last line is dropped by the reader.
 */
export class JournalWriter {
  private fd: number | undefined;
  /** Records (or records' JSON texts) appended and not yet written, in order. */
  private readonly queued: (JournalRecord | string)[] = [];
  /** The bytes of the next batch (encoded into, reused). */
  private readonly batch = new LineBatch();
  /** Where each line of the batch ends, and the queued entry each starts with (the crash switch cuts by these). */
  private readonly lineEnds: number[] = [];
  private readonly lineFirst: number[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** fdatasyncs on the thread pool (the fd stays open until they are done). */
  private inFlight = 0;
  private unsynced = false;
  private pending: Promise<Result<void, QiError>> | undefined;
  /** The latest fdatasync in flight: it covers every record written before it started. */
  private syncInFlight: Promise<Result<void, QiError>> | undefined;
  /** close() was called while a write or sync was in flight: the fd closes when they are done. */
  private closing: (() => void) | undefined;
  /** The first write error, reported by the next append, durable() or close(). */
  private writeFailure: QiError | undefined;
  /** Records this writer has written (the crash switch counts these). */
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
   * Appends one record, written with its batch (see the class); a failed write (disk full) is
   * reported by the next call, never thrown.
   */
  append(record: JournalRecord): Result<void, QiError> {
    return this.enqueue(record);
  }

  /**
   * Writes what is queued now: what must be in the file before the caller goes on; with `sync`,
   * also on the disk (fdatasync, synchronously: for the rare records whose loss even in a power
   * cut would let a resume repeat something — an attempt number reserved, subtasks delegated).
   */
  writeNow(sync = false): Result<void, QiError> {
    const flushed = this.flush();
    if (!sync || flushed.tag === 'failure' || this.fd === undefined || !this.unsynced) return flushed;
    try {
      fdatasyncSync(this.fd);
      this.unsynced = false;
    } catch (e) {
      this.writeFailure ??= writeError(this.file, e);
    }
    return this.status();
  }

  /**
   * Appends one record given as its JSON text (an object with a string `type`), as `append`
   * does: for a record serialized already (the head holds the task's text, megabytes on a big
   * run), converted to UTF-8 once, straight into the batch, and checksummed over those bytes.
   */
  appendJson(json: string): Result<void, QiError> {
    return this.enqueue(json);
  }

  private enqueue(entry: JournalRecord | string): Result<void, QiError> {
    if (this.fd === undefined || this.closing !== undefined) return failure(qiError('INVALID_JOURNAL', `journal ${this.file} is closed`, { file: this.file }));
    if (this.writeFailure !== undefined) return failure(this.writeFailure);
    this.queued.push(entry);
    this.scheduleWrite();
    return success(undefined);
  }

  /**
   * The queue's timer: armed by an append to an empty queue (one timer per batch, not one per
   * record); a write barrier that writes the batch first leaves it to fire into an empty queue
   * (clearing and setting one again on every barrier write costs more).
   */
  private scheduleWrite(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(this.writeBatchNow, MAX_QUEUED_MS);
  }

  private clearTimer(): void {
    if (this.flushTimer === undefined) return;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** The batch's time came. */
  private readonly writeBatchNow = (): void => {
    this.flushTimer = undefined;
    this.flush();
  };

  /**
   * Encodes the queued records and writes them now, in one synchronous call. A timer already
   * set is left to fire (it finds nothing, or what came since).
   */
  private flush(): Result<void, QiError> {
    const queued = this.queued;
    if (queued.length === 0 || this.fd === undefined || this.writeFailure !== undefined) return this.status();
    const records = this.encode();
    if (this.crash !== undefined && this.written + records >= this.crash.atRecord) this.crashNow(this.fd, this.crash);
    queued.length = 0;
    this.written += records;
    try {
      this.writeBatch(this.fd, this.batch.length);
      if (records > 0) this.unsynced = true;
    } catch (e) {
      this.writeFailure ??= writeError(this.file, e);
    } finally {
      this.batch.clear();
    }
    return this.status();
  }

  /**
   * Encodes the queued entries into the batch, one line each — a run of consecutive subtask
   * successes one line for all of them (event-group.ts) — and returns how many
   * entries it encoded; `lineEnds` holds where each line ends and `lineFirst` the entry it
   * starts with. A record JSON cannot encode (a BigInt, a cycle) ends the journal there: the
   * lines before it are written, it and those after it are not (a journal is always a prefix of
   * the run).
   */
  private encode(): number {
    const queued = this.queued;
    const ends = this.lineEnds;
    const first = this.lineFirst;
    ends.length = 0;
    first.length = 0;
    let i = 0;
    while (i < queued.length) {
      const entry = queued[i]!;
      let next = i + 1;
      try {
        if (typeof entry === 'string') this.batch.addJson(entry);
        else if (!groupable(entry)) this.batch.addJson(recordJson(entry));
        else {
          while (next < queued.length && groupable(queued[next]!)) next++;
          const group = next - i === 1 ? undefined : groupJson(queued, i, next);
          if (group !== undefined && group.length <= MAX_GROUP_UNITS) this.batch.addJson(group);
          else {
            // One record, or a group too large for one line (big outputs): a line each.
            for (; i < next; i++) {
              this.batch.addJson(recordJson(queued[i] as JournalRecord));
              first.push(i);
              ends.push(this.batch.length);
            }
            continue;
          }
        }
      } catch (e) {
        this.writeFailure ??= qiError('JOURNAL_UNAVAILABLE', `cannot encode a record of the journal ${this.file} (${typeof entry === 'string' ? 'serialized record' : entry.type}): ${e instanceof Error ? e.message : String(e)}`, {
          file: this.file,
        });
        break;
      }
      first.push(i);
      ends.push(this.batch.length);
      i = next;
    }
    return i;
  }

  /** Writes the batch's first `length` bytes synchronously. */
  private writeBatch(fd: number, length: number): void {
    writeAll(fd, this.batch.view(length));
  }

  /**
   * The crash switch fired: writes the records before record N, then all of N or half of its
   * line's bytes, and SIGKILLs this process (nothing else is flushed, as in a real kill). Record
   * N inside a group ends the group there: the group of the records up to N is N's line.
   */
  private crashNow(fd: number, crash: CrashSwitch): never {
    const at = crash.atRecord - this.written - 1;
    let line = 0;
    while (line + 1 < this.lineFirst.length && this.lineFirst[line + 1]! <= at) line++;
    const before = line > 0 ? this.lineEnds[line - 1]! : 0;
    const from = this.lineFirst[line]!;
    const tail = new LineBatch();
    const entry = this.queued[at]!;
    if (typeof entry === 'string') tail.addJson(entry);
    else tail.addJson(at === from ? recordJson(entry) : groupJson(this.queued, from, at + 1));
    this.writeBatch(fd, before);
    const last = tail.view();
    writeAll(fd, crash.torn ? last.subarray(0, Math.floor(last.length / 2)) : last);
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL of oneself is delivered before kill() returns; this only satisfies the type.
    throw new Error('unreachable: SIGKILL did not end the process');
  }

  /** Resolves once every record appended so far is on disk (one fdatasync per batch). */
  durable(): Promise<Result<void, QiError>> {
    // Nothing unwritten or unsynced: done, or done once the sync in flight (which covers it) is.
    if (!this.unsynced && this.queued.length === 0) return this.syncInFlight ?? Promise.resolve(this.status());
    this.pending ??= new Promise((resolve) => {
      setImmediate(() => {
        this.pending = undefined;
        void this.sync().then(resolve);
      });
    });
    return this.pending;
  }

  private sync(): Promise<Result<void, QiError>> {
    const flushed = this.flush();
    const fd = this.fd;
    if (flushed.tag === 'failure' || fd === undefined || !this.unsynced) return Promise.resolve(flushed);
    // Writes from here on set it again; this sync covers the ones before.
    this.unsynced = false;
    this.inFlight++;
    const synced = new Promise<Result<void, QiError>>((resolve) => {
      fdatasync(fd, (e) => {
        this.inFlight--;
        if (this.syncInFlight === synced) this.syncInFlight = undefined;
        if (e !== null) {
          this.unsynced = true;
          resolve(failure(writeError(this.file, e)));
        } else resolve(this.status());
        this.maybeClose();
      });
    });
    this.syncInFlight = synced;
    return synced;
  }

  private status(): Result<void, QiError> {
    return this.writeFailure === undefined ? success(undefined) : failure(this.writeFailure);
  }

  /**
   * Writes what is queued, syncs and closes; later appends fail. With no write or sync in flight
   * (the usual case: a run makes its journal durable before it closes it) this is done on return;
   * otherwise the rest is written and the fd closed once they are done, and `onClosed` tells when.
   */
  close(onClosed?: () => void): Result<void, QiError> {
    const flushed = this.flush();
    this.clearTimer();
    if (this.fd !== undefined && this.inFlight > 0) {
      this.closing = onClosed ?? (() => undefined);
      return flushed;
    }
    const closed = this.fd === undefined ? flushed : this.closeNow(this.fd, flushed);
    onClosed?.();
    return closed;
  }

  private maybeClose(): void {
    if (this.closing === undefined || this.inFlight > 0 || this.fd === undefined) return;
    const done = this.closing;
    this.closeNow(this.fd, this.flush());
    done();
  }

  private closeNow(fd: number, flushed: Result<void, QiError>): Result<void, QiError> {
    this.clearTimer();
    let result = flushed;
    try {
      if (result.tag === 'success' && this.unsynced) fdatasyncSync(fd);
    } catch (e) {
      result = failure(writeError(this.file, e));
    }
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
    this.fd = undefined;
    return result;
  }
}

/** Writes all of `bytes` synchronously (a short write is continued). */
function writeAll(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
}

function writeError(file: string, e: unknown): QiError {
  const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
  return qiError('JOURNAL_UNAVAILABLE', `cannot write the journal ${file} (${code}): ${e instanceof Error ? e.message : String(e)}; free space, fix its permissions, or pass --journal DIR / --no-journal`, {
    file,
    errno: code,
  });
}
