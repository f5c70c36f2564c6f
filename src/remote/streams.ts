import type { Redis } from 'ioredis';
import { STREAM_TTL_MS } from './keys.js';
import { readEntries, type Entry } from './wire.js';

/** Largest entry a writer makes, in bytes of data (a bigger message gets an entry of its own). */
const MAX_ENTRY_BYTES = 1024 * 1024;

/**
 * Writes messages to streams, batched per event-loop turn: everything queued for one stream in
 * one turn becomes one entry (an `s`, `k`, `d` triple per message, in order, split at
 * MAX_ENTRY_BYTES), and all entries of the turn go out as one pipeline. Thousands of small
 * messages a second thus cost a few commands and round trips. Pipelines go out in order on one
 * connection, so a session's messages keep their order.
 */
export class StreamWriter {
  private queued = new Map<string, { fields: string[]; bytes: number }[]>();
  private scheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  /** When each key's TTL was last refreshed: once per EXPIRE_REFRESH_MS is enough, not once per batch. */
  private readonly expiresSetAt = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly onError: (e: Error) => void,
  ) {}

  add(key: string, session: string, kind: string, data: string): void {
    let entries = this.queued.get(key);
    if (entries === undefined) this.queued.set(key, (entries = [{ fields: [], bytes: 0 }]));
    let last = entries[entries.length - 1]!;
    if (last.bytes > 0 && last.bytes + data.length > MAX_ENTRY_BYTES) entries.push((last = { fields: [], bytes: 0 }));
    last.fields.push('s', session, 'k', kind, 'd', data);
    last.bytes += data.length;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Resolves once everything queued so far has been written (or failed). */
  async drain(): Promise<void> {
    if (this.scheduled) this.flush();
    await this.flushing;
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queued;
    this.queued = new Map();
    if (batch.size === 0) return;
    const pipeline = this.redis.pipeline();
    const now = Date.now();
    for (const [key, entries] of batch) {
      for (const { fields } of entries) pipeline.xadd(key, '*', ...fields);
      if (now - (this.expiresSetAt.get(key) ?? 0) < EXPIRE_REFRESH_MS) continue;
      this.expiresSetAt.set(key, now);
      pipeline.pexpire(key, STREAM_TTL_MS);
    }
    if (this.expiresSetAt.size > 10_000) this.expiresSetAt.clear();
    const done = pipeline.exec().then(
      (results) => {
        const failed = results?.find(([err]) => err !== null);
        if (failed?.[0] != null) this.onError(failed[0]);
      },
      (e: unknown) => this.onError(e instanceof Error ? e : new Error(String(e))),
    );
    this.flushing = this.flushing.then(() => done);
  }
}

/** A stream's TTL is refreshed this often while entries are written to it (well inside STREAM_TTL_MS). */
const EXPIRE_REFRESH_MS = 5000;
/** Read entries are trimmed away at most this often (one XTRIM per read would double the commands). */
const TRIM_EVERY_MS = 200;

/** How long one blocking read waits before it looks again (and notices a close). */
const BLOCK_MS = 1000;
/** Entries taken per read. */
const READ_COUNT = 1000;

/**
 * Reads one stream in a loop with XREAD BLOCK on its own connection, in order, handing each
 * entry to `onEntry`; entries read are trimmed away. `close` disconnects the blocking connection,
 * which ends the loop. A read error is reported and retried after a pause (the liveness checks
 * decide when a long outage has lost the sessions).
 */
export class StreamReader {
  private closed = false;
  private lastId = '0-0';
  private trimmedAt = 0;
  readonly done: Promise<void>;

  constructor(
    private readonly blocking: Redis,
    private readonly commands: Redis,
    private readonly key: string,
    private readonly onEntry: (entry: Entry) => void,
    private readonly onError: (e: Error) => void,
  ) {
    this.done = this.loop();
  }

  close(): void {
    this.closed = true;
    this.blocking.disconnect();
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      let reply: [string, [string, string[]][]][] | null;
      try {
        reply = (await this.blocking.xread('COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, this.lastId)) as [string, [string, string[]][]][] | null;
      } catch (e) {
        if (this.closed) return;
        this.onError(e instanceof Error ? e : new Error(String(e)));
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (reply === null) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          this.lastId = id;
          for (const entry of readEntries(fields)) this.onEntry(entry);
        }
      }
      // Entries before the last one read are done with: the stream stays small.
      const now = Date.now();
      if (now - this.trimmedAt >= TRIM_EVERY_MS) {
        this.trimmedAt = now;
        this.commands.xtrim(this.key, 'MINID', this.lastId).catch(() => undefined);
      }
    }
  }
}
