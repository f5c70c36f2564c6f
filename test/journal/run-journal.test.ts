import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalText, fingerprintOf, openRunJournal, runFingerprint, startRunJournal, type JournalHead } from '../../src/journal/run-journal.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { err, ok, tempProject } from '../helpers.js';
import { encodeRecord } from './lines.js';

const CLI = path.join(import.meta.dirname, '../../dist/src/cli/main.js');

function head(runId: string, fingerprint = runFingerprint({ id: 't' }, { type: 'hybrid' }, { a: 1 })): JournalHead {
  return { runId, taskId: 't', subtaskCount: 2, task: { id: 't' }, strategy: { type: 'hybrid' }, fingerprint, configFingerprint: 'c', qicoordVersion: '0.1.0', startedAt: 1000 };
}

describe('run journals', () => {
  it('records a run and reads it back for a resume; an ended run says so', async () => {
    const dir = tempProject();
    const j = ok(await startRunJournal(dir, head('run-1')));
    ok(j.record({ type: 'subtask-succeeded', subtaskId: 'a', outputs: { n: 1 } }));
    ok(await j.durable());
    j.close();
    const resumed = ok(openRunJournal(dir, 'run-1', head('run-1').fingerprint));
    expect(resumed.head).toMatchObject({ runId: 'run-1', taskId: 't' });
    expect(resumed.events).toEqual([{ type: 'subtask-succeeded', subtaskId: 'a', outputs: { n: 1 } }]);
    expect(resumed.ended).toBeUndefined();
    ok(resumed.journal.record({ type: 'run-ended', status: 'completed', at: 2000 }));
    ok(resumed.journal.close());
    expect(ok(openRunJournal(dir, 'run-1')).ended).toEqual({ type: 'run-ended', status: 'completed', at: 2000 });
  });

  it("the config's key order does not change the fingerprint, and a changed task is refused", async () => {
    expect(runFingerprint({ a: 1 }, {}, { a: 1, b: { d: 1, c: 2 } })).toBe(runFingerprint({ a: 1 }, {}, { b: { c: 2, d: 1 }, a: 1 }));
    expect(runFingerprint({ a: 1 }, {}, {})).not.toBe(runFingerprint({ a: 2 }, {}, {}));
    // From texts serialized once (a new run's head) it is the same fingerprint.
    expect(fingerprintOf(JSON.stringify({ b: 2, a: [1] }), JSON.stringify({ t: 1 }), canonicalText({ z: 0, y: null }))).toBe(runFingerprint({ b: 2, a: [1] }, { t: 1 }, { y: null, z: 0 }));
    const dir = tempProject();
    ok(await startRunJournal(dir, head('run-2'))).close();
    const e = err(openRunJournal(dir, 'run-2', runFingerprint({ id: 'changed' }, {}, {})));
    expect(e.code).toBe('INVALID_JOURNAL');
    expect(e.message).toContain('fingerprint mismatch');
  });

  it('refuses unknown run ids, journals of another version, and a run a live process holds', async () => {
    const dir = tempProject();
    expect(err(openRunJournal(dir, 'nope')).code).toBe('NOT_FOUND');
    expect(err(openRunJournal(dir, '../../etc')).code).toBe('NOT_FOUND');
    const j = ok(await startRunJournal(dir, head('run-3')));
    expect(err(openRunJournal(dir, 'run-3')).code).toBe('RUN_LOCKED');
    j.close();
    const file = path.join(dir, 'run-3', JOURNAL_FILE);
    const lines = readFileSync(file, 'utf8');
    const other = ok(await startRunJournal(dir, { ...head('run-4') }));
    other.close();
    // A head claiming version 99, with a valid checksum.
    writeFileSync(path.join(dir, 'run-4', JOURNAL_FILE), encodeRecord({ type: 'head', version: 99, runId: 'run-4' }));
    expect(err(openRunJournal(dir, 'run-4')).code).toBe('INVALID_JOURNAL');
    expect(lines.length).toBeGreaterThan(0);
  });

  it('an unwritable journal folder is JOURNAL_UNAVAILABLE with the fix', async () => {
    const dir = tempProject();
    writeFileSync(path.join(dir, 'file'), 'x');
    const e = err(await startRunJournal(path.join(dir, 'file'), head('run-5')));
    expect(e.code).toBe('JOURNAL_UNAVAILABLE');
    expect(e.message).toContain('--no-journal');
  });
});

describe('qicoord runs', () => {
  it('lists runs as a table and as JSON, and prunes', async () => {
    const dir = tempProject();
    const j = ok(await startRunJournal(dir, head('run-a')));
    ok(j.record({ type: 'subtask-succeeded', subtaskId: 'a' }));
    ok(j.record({ type: 'run-ended', status: 'completed', at: 5000 }));
    ok(j.close());
    const i = ok(await startRunJournal(dir, head('run-b')));
    i.close();
    const text = execFileSync(process.execPath, [CLI, 'runs', '--journal', dir], { encoding: 'utf8' });
    expect(text.split('\n')[0]).toMatch(/^RUN\s+TASK\s+STATUS/);
    expect(text).toMatch(/run-a\s+t\s+succeeded\s+1\/0\/2/);
    expect(text).toMatch(/run-b\s+t\s+interrupted\s+0\/0\/2/);
    const json = JSON.parse(execFileSync(process.execPath, [CLI, 'runs', '--journal', dir, '--json'], { encoding: 'utf8' })) as { tag: string; value: { runId: string; status: string }[] };
    expect(json.value.map((r) => [r.runId, r.status]).sort()).toEqual([['run-a', 'succeeded'], ['run-b', 'interrupted']]);
    const pruned = execFileSync(process.execPath, [CLI, 'runs', '--journal', dir, '--prune', '0'], { encoding: 'utf8' });
    expect(pruned).toMatch(/^removed 2 runs/);
    chmodSync(dir, 0o755);
    const bad = spawn(process.execPath, [CLI, 'runs', '--prune', 'soon'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    bad.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((r) => bad.on('exit', r));
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toMatch(/^error \[INVALID_CONFIG\] --prune takes a number of days/);
  });
});
