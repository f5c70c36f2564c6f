import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/execution/run-events.js';
import { LineBatch } from '../../src/journal/batch.js';
import { expandRecord, GROUP_TYPE, groupable, groupJson } from '../../src/journal/event-group.js';
import { readJournal } from '../../src/journal/read.js';
import type { JournalRecord } from '../../src/journal/record.js';
import { decodeRecord, recordJson } from '../../src/journal/record.js';
import { encodeJson, encodeRecord } from './lines.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { JournalWriter, MAX_GROUP_UNITS, MAX_QUEUED_MS } from '../../src/journal/writer.js';
import { err, ok, tempProject } from '../helpers.js';

const error = { code: 'AGENT_ERROR', message: 'boom "quoted"\nsecond line', category: 'agent', context: { subtaskId: 's1' } };
const usage = { memoryMB: 12.5, executionTimeMs: 3, toolCalls: 0, networkRequests: 1, fileOperations: 2, cpuPercent: 40 };

/** One event of every type a run journals (subtask-dispatched is not written, but encodes alike). */
const events: readonly RunEvent[] = [
  { type: 'run-started', at: 1_700_000_000_000 },
  { type: 'subtasks-added', subtasks: [{ id: 'p~a', parentId: 'p', depth: 1, subtask: { id: 'p~a' } as never, spec: { name: 'x' } as never }], at: 1 },
  { type: 'subtask-dispatched', index: 0, subtaskId: 's0', attempt: 1, at: 2 },
  { type: 'subtask-started', index: 0, subtaskId: 's0', attempt: 1, agentId: 'echo#1', at: 3 },
  { type: 'attempts-reserved', upTo: 2, at: 3 },
  { type: 'subtask-succeeded', index: 0, subtaskId: 's0', attempt: 1, outputs: { value: 1, deep: [{ a: null }, 'ü€😀'] }, usage, agentId: 'echo#1', startedAt: 3, at: 4 },
  { type: 'subtask-succeeded', index: 1, subtaskId: 's1', attempt: 2, outputs: {}, usage: undefined, agentId: 'echo#2', startedAt: 4, at: 5 },
  { type: 'subtask-succeeded', index: 2, subtaskId: 's2', attempt: 1, outputs: { v: 'x' }, agentId: 'ü', startedAt: 5, at: 6 },
  { type: 'subtask-requeued', index: 1, subtaskId: 's1', attempt: 1, error: error as never, delayMs: 10, reason: 'retry', usage, agentId: 'echo#1', startedAt: 6, at: 7 },
  { type: 'subtask-failed', index: 3, subtaskId: 's3', attempt: 3, error: error as never, agentId: 'echo#1', startedAt: 7, at: 8 },
  { type: 'subtask-cancelled', index: 4, subtaskId: 's4', error: error as never, at: 9 },
  { type: 'subtask-cancelled', index: 5, subtaskId: 's5', at: 10 },
  { type: 'subtask-skipped', index: 6, subtaskId: 's6', error: error as never, at: 11 },
  { type: 'sync-released', pointId: 'vote', outcome: { decision: 'yes', votes: [1, 2] }, at: 12 },
  { type: 'fallback-applied', action: 'extend-deadline', detail: { index: 2, factor: 1.5 }, at: 13 },
  { type: 'run-ended', status: 'completed', at: 14 },
  { type: 'run-ended', status: 'failed', error: error as never, at: 15 },
];

/** What JSON.stringify then JSON.parse makes of a record: the meaning every encoding must keep. */
const plain = (r: unknown): unknown => JSON.parse(JSON.stringify(r));
const asRecord = (e: RunEvent): JournalRecord => e as unknown as JournalRecord;

describe('journal record encoding', () => {
  it('every event type round-trips through its line', () => {
    for (const event of events) {
      const line = encodeRecord(asRecord(event));
      expect(line.endsWith('\n')).toBe(true);
      expect(decodeRecord(line.slice(0, -1))).toEqual({ ok: true, record: plain(event) });
    }
  });

  it('subtask records with awkward strings and numbers round-trip too', () => {
    const awkward = ['', 'a"b', 'back\\slash', 'tab\tnew\nline', '\u0000\u001f', '\ud800 lone surrogate', 'ü€😀', '</script>'];
    for (const s of awkward) {
      for (const n of [0, 1.5, 1e21, Number.MAX_SAFE_INTEGER]) {
        const started = { type: 'subtask-started', index: n, subtaskId: s, attempt: n, agentId: s, at: n };
        const succeeded = { type: 'subtask-succeeded', index: n, subtaskId: s, attempt: 1, outputs: { [s]: s, n }, usage, agentId: s, startedAt: n, at: n };
        for (const r of [started, succeeded]) expect(decodeRecord(encodeRecord(r).slice(0, -1))).toEqual({ ok: true, record: plain(r) });
        // And in a group line (times must be whole ms there: others make a plain record).
        if (!Number.isSafeInteger(n)) continue;
        const decoded = decodeRecord(encodeJson(groupJson([succeeded, succeeded], 0, 2)).slice(0, -1)) as { ok: true; record: JournalRecord };
        expect(expandRecord(decoded.record)).toEqual([plain(succeeded), plain(succeeded)]);
      }
    }
  });
});

describe('journal line batch', () => {
  it('builds the same bytes as the line encoder, checksums over UTF-8 included, across growth of its buffer', () => {
    const batch = new LineBatch();
    const big = { type: 'subtask-succeeded', index: 9, subtaskId: 'big', attempt: 1, outputs: { text: 'é😀'.repeat(40_000) }, at: 1 };
    const records: JournalRecord[] = [...events.map(asRecord), big, ...events.map(asRecord)];
    for (const r of records) batch.addJson(recordJson(r));
    const head = JSON.stringify({ type: 'head', task: { id: 'ü'.repeat(20_000) } });
    batch.addJson(head);
    const expected = records.map((r) => encodeRecord(r)).join('') + encodeJson(head);
    expect(batch.view().toString('utf8')).toBe(expected);
    expect(batch.length).toBe(Buffer.byteLength(expected));
    batch.clear();
    expect(batch.length).toBe(0);
    batch.addJson('{"type":"x"}');
    expect(batch.view().toString('utf8')).toBe(encodeRecord({ type: 'x' }));
  });
});

describe('journal written by the writer', () => {
  function written(records: readonly JournalRecord[]): string {
    const file = path.join(tempProject(), JOURNAL_FILE);
    const w = ok(JournalWriter.open(file));
    for (const r of records) ok(w.append(r));
    ok(w.close());
    return file;
  }

  it('reads back every event type as written: one line each, but one line for a run of successes', () => {
    const file = written(events.map(asRecord));
    const records = events.map(asRecord);
    // Events 5..7 are three successes: one group line; every other event its own.
    const lines = [...records.slice(0, 5).map((r) => encodeRecord(r)), encodeJson(groupJson(records, 5, 8)), ...records.slice(8).map((r) => encodeRecord(r))];
    expect(readFileSync(file, 'utf8')).toBe(lines.join(''));
    expect(decodeRecord(lines[5]!.slice(0, -1))).toMatchObject({ ok: true, record: { type: GROUP_TYPE } });
    expect(ok(readJournal(file)).records).toEqual(events.map(plain));
  });

  it('a lone success, or one without its agent and start, stays a plain record; a group keeps its records in their order', () => {
    const succeeded = (i: number): JournalRecord => ({ type: 'subtask-succeeded', index: i, subtaskId: `s${i}`, attempt: 1, outputs: { v: i }, usage: i === 2 ? { ...usage, cpuPercent: undefined } : usage, agentId: 'a#1', startedAt: i, at: i });
    const { agentId: _agent, ...unplaced } = succeeded(4);
    const records = [succeeded(5), { type: 'run-started', at: 0 }, succeeded(0), succeeded(2), succeeded(3), succeeded(1), unplaced, succeeded(6), { type: 'run-ended', status: 'completed', at: 9 }];
    const file = written(records);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => (decodeRecord(l) as { record: JournalRecord }).record.type)).toEqual(['subtask-succeeded', 'run-started', GROUP_TYPE, 'subtask-succeeded', 'subtask-succeeded', 'run-ended']);
    expect(ok(readJournal(file)).records).toEqual(records.map(plain));
    // Times not in whole ms stay plain too (a group keeps times relative to its first start).
    expect(groupable(succeeded(1))).toBe(true);
    expect(groupable({ ...succeeded(1), at: 1.5 })).toBe(false);
    expect(groupable({ ...succeeded(1), startedAt: 2 ** 60 })).toBe(false);
  });

  it("a group writes a usage snapshot once for its agent's run of successes, and reads each success back with a usage of its own", () => {
    const first = { ...usage, cpuPercent: undefined };
    const later = { ...usage, toolCalls: 5 };
    const succeeded = (i: number, agentId: string, u: typeof usage | typeof first): JournalRecord => ({ type: 'subtask-succeeded', index: i, subtaskId: `s${i}`, attempt: 1, outputs: { v: i }, usage: u, agentId, startedAt: i, at: i + 1 });
    // The same snapshot for another agent is a row of its own; a copy with the same figures too.
    const records = [succeeded(0, 'a', first), succeeded(1, 'b', first), succeeded(2, 'a', first), succeeded(3, 'a', later), succeeded(4, 'b', first), succeeded(5, 'a', { ...later })];
    const group = JSON.parse(groupJson(records, 0, records.length)) as { u: unknown[]; e: unknown[][] };
    expect(group.u).toEqual([[12.5, 3, 0, 1, 2], [12.5, 3, 0, 1, 2], [12.5, 3, 5, 1, 2, 40], [12.5, 3, 5, 1, 2, 40]]);
    expect(group.e.map((item) => item[7])).toEqual([0, 1, 0, 2, 1, 3]);
    const expanded = expandRecord(group as unknown as JournalRecord)!;
    expect(expanded).toEqual(records.map(plain));
    expect(expanded[0]!['usage']).not.toBe(expanded[2]!['usage']);
  });

  it('successes too large for one line together (big outputs) are written a line each', () => {
    const big = (i: number): JournalRecord => ({ type: 'subtask-succeeded', index: i, subtaskId: `s${i}`, attempt: 1, outputs: { text: 'x'.repeat(MAX_GROUP_UNITS / 2) }, agentId: 'a', startedAt: i, at: i });
    const records = [big(0), big(1), big(2)];
    const file = written(records);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => (decodeRecord(l) as { record: JournalRecord }).record.type)).toEqual(['subtask-succeeded', 'subtask-succeeded', 'subtask-succeeded']);
    expect(ok(readJournal(file)).records).toEqual(records.map(plain));
  });

  it('a group torn at any byte or with any byte flipped is dropped whole; a group of the wrong shape is a damaged line', () => {
    const records: JournalRecord[] = [{ type: 'run-started', at: 0 }, ...[0, 1, 2].map((i) => ({ type: 'subtask-succeeded', index: i, subtaskId: `s${i}`, attempt: 1, outputs: { v: 'ü' }, agentId: 'ü', startedAt: i, at: i }))];
    const file = written(records);
    const full = readFileSync(file);
    const lastStart = full.lastIndexOf(0x0a, full.length - 2) + 1;
    for (let cut = lastStart + 1; cut < full.length; cut++) {
      writeFileSync(file, full.subarray(0, cut));
      expect(ok(readJournal(file))).toMatchObject({ records: [plain(records[0])], droppedTail: true, goodBytes: lastStart });
    }
    for (let at = lastStart; at < full.length - 1; at++) {
      const flipped = Buffer.from(full);
      flipped[at] = flipped[at]! ^ 0x01;
      writeFileSync(file, flipped);
      expect(ok(readJournal(file)).records).toEqual([plain(records[0])]);
    }
    const good = { type: GROUP_TYPE, t: 10, a: ['x'], u: [[1, 2, 3, 4, 5]], e: [[1, 's1', 1, 0, 0, 5, {}], [2, 's2', 1, 0, 1, 6, {}, 0]] };
    const usage = { memoryMB: 1, executionTimeMs: 2, toolCalls: 3, networkRequests: 4, fileOperations: 5 };
    expect(expandRecord(good)).toEqual([
      { type: 'subtask-succeeded', index: 1, subtaskId: 's1', attempt: 1, outputs: {}, agentId: 'x', startedAt: 10, at: 15 },
      { type: 'subtask-succeeded', index: 2, subtaskId: 's2', attempt: 1, outputs: {}, usage, agentId: 'x', startedAt: 11, at: 16 },
    ]);
    const bad = [
      { type: GROUP_TYPE },
      { ...good, t: 1.5 },
      { ...good, t: '10' },
      { ...good, a: [7] },
      { ...good, a: 'x' },
      { ...good, e: [[1, 's1', 1, 0, 0, 5]] },
      { ...good, e: [[1, 's1', 1, 0, 0, 5, []]] },
      { ...good, e: [[1, 's1', 1, 1, 0, 5, {}]] },
      { ...good, e: [[1, 's1', 1, -1, 0, 5, {}]] },
      { ...good, e: [[1, 's1', 1, 0, 0.5, 5, {}]] },
      { ...good, e: [[1, 's1', 1, 0, 0, '5', {}]] },
      { ...good, u: undefined },
      { ...good, u: [[1, 2, 3, 4]] },
      { ...good, u: [[1, 2, 3, '4', 5]] },
      { ...good, u: [{}] },
      { ...good, e: [[1, 's1', 1, 0, 0, 5, {}, 'usage']] },
      { ...good, e: [[1, 's1', 1, 0, 0, 5, {}, 1]] },
      { ...good, e: [[1, 's1', 1, 0, 0, 5, {}, 0, 0]] },
      { ...good, e: [[1, 's1', 1, 0, 0, 5, {}, 1, 2, 3, 4, 5]] },
      { ...good, e: [['1', 's1', 1, 0, 0, 5, {}]] },
      { ...good, e: [[1, 7, 1, 0, 0, 5, {}]] },
      { ...good, e: ['x'] },
    ];
    for (const group of bad) {
      expect(expandRecord(group)).toBeUndefined();
      writeFileSync(file, encodeRecord({ type: 'run-started', at: 0 }) + encodeRecord(group) + encodeRecord({ type: 'run-ended', status: 'completed', at: 1 }));
      expect(err(readJournal(file))).toMatchObject({ code: 'INVALID_JOURNAL', context: { line: 2, problem: 'shape' } });
    }
  });

  it('a torn final record (cut at every byte) or a corrupt one (any byte flipped) is dropped on read, never fatal', () => {
    const file = written(events.map(asRecord));
    const full = readFileSync(file);
    const lastStart = full.lastIndexOf(0x0a, full.length - 2) + 1;
    const before = events.slice(0, -1).map(plain);
    for (let cut = lastStart + 1; cut < full.length; cut++) {
      writeFileSync(file, full.subarray(0, cut));
      expect(ok(readJournal(file))).toMatchObject({ records: before, droppedTail: true, goodBytes: lastStart });
    }
    for (let at = lastStart; at < full.length - 1; at++) {
      const flipped = Buffer.from(full);
      flipped[at] = flipped[at]! ^ 0x01;
      writeFileSync(file, flipped);
      expect(ok(readJournal(file))).toMatchObject({ records: before, droppedTail: true, goodBytes: lastStart });
    }
  });

  it('a record JSON cannot encode ends the journal there: the records before it are written, later appends fail, nothing throws', async () => {
    const file = path.join(tempProject(), JOURNAL_FILE);
    const w = ok(JournalWriter.open(file));
    ok(w.append({ type: 'a' }));
    ok(w.append({ type: 'bad', n: 1n }));
    ok(w.append({ type: 'c' }));
    const synced = await w.durable();
    expect(err(synced).code).toBe('JOURNAL_UNAVAILABLE');
    expect(err(w.append({ type: 'd' })).code).toBe('JOURNAL_UNAVAILABLE');
    w.close();
    expect(ok(readJournal(file)).records).toEqual([{ type: 'a' }]);
  });

  it('writeNow writes what is queued at once, in order, before its batch would go', () => {
    const file = path.join(tempProject(), JOURNAL_FILE);
    const w = ok(JournalWriter.open(file));
    ok(w.append({ type: 'start', i: 0 }));
    ok(w.append({ type: 'start', i: 1 }));
    // Nothing is written before the batch's turn...
    expect(readFileSync(file, 'utf8')).toBe('');
    // ...unless asked: both starts are in the file now, synchronously.
    ok(w.writeNow());
    expect(ok(readJournal(file)).records).toEqual([{ type: 'start', i: 0 }, { type: 'start', i: 1 }]);
    // With nothing queued it writes nothing.
    ok(w.writeNow());
    expect(ok(readJournal(file)).records).toHaveLength(2);
    w.close();
  });

  it('a batch arms one timer, not one per record or per turn, and is written when it fires', () => {
    vi.useFakeTimers();
    try {
      const file = path.join(tempProject(), JOURNAL_FILE);
      const w = ok(JournalWriter.open(file));
      for (let i = 0; i < 100; i++) ok(w.append({ type: 'r', i }));
      expect(vi.getTimerCount()).toBe(1);
      // The end of the turn writes nothing (no setImmediate check); the timer does.
      vi.advanceTimersByTime(MAX_QUEUED_MS - 1);
      expect(readFileSync(file, 'utf8')).toBe('');
      vi.advanceTimersByTime(1);
      expect(ok(readJournal(file)).records).toHaveLength(100);
      expect(vi.getTimerCount()).toBe(0);
      // A write barrier writes the next batch first; its timer then fires into an empty queue.
      ok(w.append({ type: 'r', i: 100 }));
      ok(w.writeNow());
      expect(ok(readJournal(file)).records).toHaveLength(101);
      vi.advanceTimersByTime(MAX_QUEUED_MS);
      expect(vi.getTimerCount()).toBe(0);
      expect(ok(readJournal(file)).records).toHaveLength(101);
      ok(w.close());
    } finally {
      vi.useRealTimers();
    }
  });

  it('batches written in turn keep the records in order; close() writes what is queued, then later appends fail', async () => {
    const file = path.join(tempProject(), JOURNAL_FILE);
    const w = ok(JournalWriter.open(file));
    ok(w.append({ type: 'r', i: 0 }));
    // The batch's time comes (its timer was set before this longer one): the first batch is
    // written; the next records form another.
    await new Promise((r) => setTimeout(r, MAX_QUEUED_MS * 5));
    expect(ok(readJournal(file)).records).toEqual([{ type: 'r', i: 0 }]);
    for (let i = 1; i < 5; i++) ok(w.append({ type: 'r', i }));
    ok(await w.durable());
    expect(ok(readJournal(file)).records.map((r) => r['i'])).toEqual([0, 1, 2, 3, 4]);
    ok(w.append({ type: 'r', i: 5 }));
    let closed = 0;
    ok(w.close(() => closed++));
    expect(closed).toBe(1);
    expect(err(w.append({ type: 'late' })).code).toBe('INVALID_JOURNAL');
    expect(ok(readJournal(file)).records.map((r) => r['i'])).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
