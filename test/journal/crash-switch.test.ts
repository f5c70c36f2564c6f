/**
 * The crash switch and the writer's batching, at unit level: the switch's syntax, the bytes a
 * switched writer leaves when it kills its process (a real child process), and a writer closed
 * while a sync is in flight.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CRASH_SWITCH_ENV, crashSwitchFrom } from '../../src/journal/crash-switch.js';
import { readJournal } from '../../src/journal/read.js';
import { encodeRecord } from './lines.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { JournalWriter } from '../../src/journal/writer.js';
import { ROOT } from '../cli-helpers.js';
import { err, ok, tempProject } from '../helpers.js';

describe('the crash switch', () => {
  it('reads N or N:torn; unset or empty is off; anything else is INVALID_CONFIG naming the variable', () => {
    expect(ok(crashSwitchFrom({}))).toBeUndefined();
    expect(ok(crashSwitchFrom({ [CRASH_SWITCH_ENV]: '' }))).toBeUndefined();
    expect(ok(crashSwitchFrom({ [CRASH_SWITCH_ENV]: '7' }))).toEqual({ atRecord: 7, torn: false });
    expect(ok(crashSwitchFrom({ [CRASH_SWITCH_ENV]: '12:torn' }))).toEqual({ atRecord: 12, torn: true });
    for (const bad of ['0', '-1', 'x', '3:tear', '1.5', '99999999999']) {
      const e = err(crashSwitchFrom({ [CRASH_SWITCH_ENV]: bad }));
      expect(e.code).toBe('INVALID_CONFIG');
      expect(e.message).toContain(CRASH_SWITCH_ENV);
    }
  });

  for (const torn of [false, true]) {
    it(`a switched writer dies by SIGKILL ${torn ? 'with half of record 3 written' : 'right after record 3'}; the reader keeps ${torn ? 'records 1–2 and drops the torn one' : 'records 1–3'}`, async () => {
      const file = path.join(tempProject(), JOURNAL_FILE);
      const writer = path.join(ROOT, 'dist/src/journal/writer.js');
      const script = `const { JournalWriter } = await import(${JSON.stringify(writer)});
const w = JournalWriter.open(${JSON.stringify(file)}, undefined, { atRecord: 3, torn: ${torn} }).value;
for (let i = 1; i <= 5; i++) w.append({ type: 'r', i });
setTimeout(() => process.exit(0), 5000);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const signal = await new Promise((resolve) => child.on('exit', (_code, s) => resolve(s)));
      expect(signal).toBe('SIGKILL');
      const line = (i: number): string => encodeRecord({ type: 'r', i });
      const whole = line(1) + line(2);
      const third = Buffer.from(line(3));
      expect(readFileSync(file)).toEqual(Buffer.concat([Buffer.from(whole), torn ? third.subarray(0, Math.floor(third.length / 2)) : third]));
      const read = ok(readJournal(file));
      expect(read.records.map((r) => r['i'])).toEqual(torn ? [1, 2] : [1, 2, 3]);
      expect(read.droppedTail).toBe(torn);
    });
  }
});

describe('the crash switch inside a group of successes', () => {
  for (const torn of [false, true]) {
    it(`record 3 of a group of 4: the group is cut after it ${torn ? 'and half of that line written' : ''}; the reader keeps ${torn ? 'record 1' : 'records 1–3'}`, async () => {
      const file = path.join(tempProject(), JOURNAL_FILE);
      const writer = path.join(ROOT, 'dist/src/journal/writer.js');
      const script = `const { JournalWriter } = await import(${JSON.stringify(writer)});
const w = JournalWriter.open(${JSON.stringify(file)}, undefined, { atRecord: 3, torn: ${torn} }).value;
w.append({ type: 'run-started', at: 0 });
for (let i = 0; i < 4; i++) w.append({ type: 'subtask-succeeded', index: i, subtaskId: 's' + i, attempt: 1, outputs: { v: i }, agentId: 'a', startedAt: i, at: i });
setTimeout(() => process.exit(0), 5000);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const signal = await new Promise((resolve) => child.on('exit', (_code, s) => resolve(s)));
      expect(signal).toBe('SIGKILL');
      const read = ok(readJournal(file));
      expect(read.records.map((r) => r['subtaskId'] ?? r.type)).toEqual(torn ? ['run-started'] : ['run-started', 's0', 's1']);
      expect(read.droppedTail).toBe(torn);
    });
  }
});

describe('journal writer batching', () => {
  it('records of many turns all reach the file in order; durable() covers them all', async () => {
    const file = path.join(tempProject(), JOURNAL_FILE);
    const w = ok(JournalWriter.open(file));
    for (let i = 0; i < 50; i++) {
      ok(w.append({ type: 'r', i }));
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    ok(await w.durable());
    expect(ok(readJournal(file)).records.map((r) => r['i'])).toEqual(Array.from({ length: 50 }, (_, i) => i));
    ok(w.close());
  });

  it('closed while a sync is in flight: the file closes after it, appends are refused at once, nothing is lost', async () => {
    const file = path.join(tempProject(), JOURNAL_FILE);
    const w = ok(JournalWriter.open(file));
    ok(w.append({ type: 'a' }));
    const synced = w.durable();
    // The sync starts on the next turn; close right after it was handed to the thread pool.
    await new Promise((r) => setImmediate(r));
    let closed = 0;
    ok(w.close(() => closed++));
    expect(err(w.append({ type: 'late' })).code).toBe('INVALID_JOURNAL');
    ok(await synced);
    await new Promise((r) => setTimeout(r, 0));
    expect(closed).toBe(1);
    expect(ok(readJournal(file)).records.map((r) => r.type)).toEqual(['a']);
  });
});
