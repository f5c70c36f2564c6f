import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, truncateSync, utimesSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireRunLock, lockHolder } from '../../src/journal/lock.js';
import { readJournal } from '../../src/journal/read.js';
import { decodeRecord } from '../../src/journal/record.js';
import { encodeRecord } from './lines.js';
import { JOURNAL_FILE, listRuns, pruneRuns, summarizeRun } from '../../src/journal/runs.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { err, ok, tempProject } from '../helpers.js';

const records = [
  { type: 'head', runId: 'r1', taskId: 'task', subtaskCount: 3, startedAt: 1_700_000_000_000 },
  { type: 'subtask-started', subtaskId: 'a', attempt: 1 },
  { type: 'subtask-succeeded', subtaskId: 'a', outputs: { x: [1, 2, { y: 'z' }] } },
  { type: 'subtask-failed', subtaskId: 'b', error: { code: 'AGENT_ERROR' } },
];

function journalOf(dir: string, recs: readonly object[] = records): string {
  const file = path.join(dir, JOURNAL_FILE);
  const writer = ok(JournalWriter.open(file));
  for (const r of recs) ok(writer.append(r as { type: string }));
  ok(writer.close());
  return file;
}

describe('journal records', () => {
  it('round-trips a record; any flipped byte fails its checksum', () => {
    const line = encodeRecord(records[2]!).slice(0, -1);
    expect(decodeRecord(line)).toEqual({ ok: true, record: records[2] });
    for (let i = 9; i < line.length; i++) {
      const flipped = line.slice(0, i) + String.fromCharCode(line.charCodeAt(i) ^ 1) + line.slice(i + 1);
      expect(decodeRecord(flipped).ok).toBe(false);
    }
  });

  it('refuses records nested past the depth limit and lines that are not records', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200; i++) deep = [deep];
    expect(decodeRecord(encodeRecord({ type: 'x', deep }).slice(0, -1))).toEqual({ ok: false, problem: 'depth' });
    expect(decodeRecord('garbage')).toEqual({ ok: false, problem: 'torn' });
    expect(decodeRecord(encodeRecord({ type: 'x' }).slice(0, -1).replace('"type"', '"kind"'))).toMatchObject({ ok: false });
  });
});

describe('reading a journal', () => {
  it('reads back what was written', () => {
    const file = journalOf(tempProject());
    expect(ok(readJournal(file))).toMatchObject({ records, droppedTail: false });
  });

  it('truncated at every byte of its last record: the torn record is dropped, never fatal', () => {
    const file = journalOf(tempProject());
    const full = readFileSync(file);
    const lastStart = full.lastIndexOf(0x0a, full.length - 2) + 1;
    for (let cut = lastStart; cut < full.length; cut++) {
      writeFileSync(file, full.subarray(0, cut));
      const read = ok(readJournal(file));
      expect(read.records).toEqual(records.slice(0, -1));
      expect(read.droppedTail).toBe(cut > lastStart);
      expect(read.goodBytes).toBe(lastStart);
    }
  });

  it('a damaged record followed by good ones is INVALID_JOURNAL naming the line', () => {
    const file = journalOf(tempProject());
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"a"', '"q"');
    writeFileSync(file, lines.join('\n'));
    const e = err(readJournal(file));
    expect(e.code).toBe('INVALID_JOURNAL');
    expect(e.message).toContain('line 2');
  });

  it('a writer reopening after a torn tail cuts it off before appending', () => {
    const dir = tempProject();
    const file = journalOf(dir);
    appendFileSync(file, '0000abcd {"t":"subtask-succ');
    const read = ok(readJournal(file));
    expect(read.droppedTail).toBe(true);
    const writer = ok(JournalWriter.open(file, read.goodBytes));
    ok(writer.append({ type: 'run-ended', status: 'failed', at: 1 }));
    ok(writer.close());
    expect(ok(readJournal(file)).records.map((r) => r.type)).toEqual([...records.map((r) => r.type), 'run-ended']);
  });

  it('durable() resolves once the batch is synced; a closed writer refuses appends', async () => {
    const file = path.join(tempProject(), JOURNAL_FILE);
    const writer = ok(JournalWriter.open(file));
    ok(writer.append({ type: 'a' }));
    ok(writer.append({ type: 'b' }));
    const [one, two] = await Promise.all([writer.durable(), writer.durable()]);
    expect(one).toEqual(two);
    ok(one);
    ok(writer.close());
    expect(err(writer.append({ type: 'c' })).code).toBe('INVALID_JOURNAL');
    expect(err(JournalWriter.open(path.join(file, 'nope', JOURNAL_FILE))).code).toBe('JOURNAL_UNAVAILABLE');
  });
});

describe('run locks', () => {
  it('one holder at a time; a live holder is named; released locks can be taken again', () => {
    const dir = tempProject();
    const lock = ok(acquireRunLock(dir, 'r1'));
    expect(lockHolder(path.join(dir, 'lock'))).toBe(process.pid);
    lock.release();
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);
    ok(acquireRunLock(dir, 'r1')).release();
  });

  it('a lock held by a live process is RUN_LOCKED naming its pid', async () => {
    const dir = tempProject();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeFileSync(path.join(dir, 'lock'), `${holder.pid}\n`);
      const e = err(acquireRunLock(dir, 'r1'));
      expect(e.code).toBe('RUN_LOCKED');
      expect(e.message).toContain(String(holder.pid));
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a dead holder’s lock is taken over; of several processes taking it over at once exactly one wins', async () => {
    const dir = tempProject();
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(path.join(dir, 'lock'), `${dead.pid}\n`);
    const lockModule = path.join(import.meta.dirname, '../../dist/src/journal/lock.js');
    const script = `import(${JSON.stringify(lockModule)}).then((m) => { const r = m.acquireRunLock(${JSON.stringify(dir)}, 'r1'); console.log(r.tag === 'success' ? 'WON' : r.error.code); setTimeout(() => {}, 1500); });`;
    const racers = Array.from({ length: 4 }, () => spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const outputs = await Promise.all(
      racers.map((p) => new Promise<string>((resolve) => {
        let out = '';
        p.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
      })),
    );
    for (const p of racers) p.kill('SIGKILL');
    expect(outputs.filter((o) => o === 'WON')).toHaveLength(1);
    expect(outputs.filter((o) => o === 'RUN_LOCKED')).toHaveLength(3);
  });
});

describe('run listing', () => {
  it('summarizes status and counts from the records', () => {
    expect(summarizeRun('r1', '/x', records, undefined)).toMatchObject({ taskId: 'task', status: 'interrupted', subtasks: { total: 3, succeeded: 1, failed: 1 }, startedAt: new Date(1_700_000_000_000).toISOString() });
    expect(summarizeRun('r1', '/x', records, 1234)).toMatchObject({ status: 'running', pid: 1234 });
    expect(summarizeRun('r1', '/x', [...records, { type: 'run-ended', status: 'completed', at: 5 }], undefined)).toMatchObject({ status: 'succeeded', endedAt: new Date(5).toISOString() });
    expect(summarizeRun('r1', '/x', [...records, { type: 'run-ended', status: 'failed', at: 5 }], undefined).status).toBe('failed');
  });

  it('lists runs newest first and prunes finished ones older than N days, never a running one', () => {
    const root = tempProject();
    for (const [id, started] of [['old', 1], ['new', 2]] as const) {
      mkdirSync(path.join(root, id));
      journalOf(path.join(root, id), [{ ...records[0]!, runId: id, startedAt: started }, { type: 'run-ended', status: 'completed', at: started }]);
    }
    mkdirSync(path.join(root, 'live'));
    journalOf(path.join(root, 'live'), [{ ...records[0]!, runId: 'live', startedAt: 3 }]);
    writeFileSync(path.join(root, 'live', 'lock'), `${process.pid}\n`);
    expect(ok(listRuns(root)).map((r) => r.runId)).toEqual(['live', 'new', 'old']);
    const longAgo = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    for (const id of ['old', 'live']) utimesSync(path.join(root, id, JOURNAL_FILE), longAgo, longAgo);
    expect(ok(pruneRuns(root, 7))).toEqual(['old']);
    expect(ok(listRuns(root)).map((r) => r.runId)).toEqual(['live', 'new']);
    expect(ok(listRuns(path.join(root, 'missing')))).toEqual([]);
  });
});
