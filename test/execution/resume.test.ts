/**
 * Resuming a journaled run, in this process (the in-memory transport): a journal cut where a
 * crash would have cut it is replayed; what had succeeded does not run again, what was in flight
 * runs again, a released decision keeps its outcome, and a finished run runs nothing.
 */
import { mkdtempSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoordinator, type CoordinationResult, type MultiAgentCoordinator } from '../../src/index.js';
import { expandRecord } from '../../src/journal/event-group.js';
import type { JournalRecord } from '../../src/journal/record.js';
import { encodeRecord } from '../journal/lines.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { inMemoryTransport } from 'qicoord/testing';
import { watchedTransport } from '../watched-transport.js';
import { err, ok } from '../helpers.js';
import { output, point, report, STEPS_PLUGIN, strategy, sub, task } from '../live-helpers.js';

const open: MultiAgentCoordinator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** A coordinator journaling under `journal`, its plugins run in-process, counting executions per subtask. */
async function journaled(journal: string, runs: Map<string, number>): Promise<MultiAgentCoordinator> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-resume-')));
  const transport = watchedTransport((subtask) => runs.set(subtask.id, (runs.get(subtask.id) ?? 0) + 1));
  const coordinator = ok(
    await createCoordinator({
      cwd: root,
      transport,
      journal: { dir: journal },
      config: { plugins: [STEPS_PLUGIN], logging: { level: 'silent' }, pool: { enabled: false }, sandbox: { workspaceRoot: root } },
    }),
  );
  open.push(coordinator);
  return coordinator;
}

// b takes a while: a's success is on disk before b starts (b depends on it); b's start is never journaled.
const chain = task('chain', [sub('a', [{ do: 'busy', ms: 1 }]), sub('b', [{ do: 'sleep', ms: 30 }]), sub('c', [{ do: 'busy', ms: 1 }])], { b: ['a'], c: ['b'] });

/** The journal of the run, cut right after the first line holding a record matching `cutAfter` (a crash there). */
function cutJournal(journal: string, runId: string, cutAfter: (r: { type: string; subtaskId?: string }) => boolean): void {
  const file = path.join(journal, runId, JOURNAL_FILE);
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  const at = lines.findIndex((l) => expandRecord(JSON.parse(l.slice(9)) as JournalRecord)!.some((r) => cutAfter(r as { type: string; subtaskId?: string })));
  expect(at).toBeGreaterThan(0);
  writeFileSync(file, `${lines.slice(0, at + 1).join('\n')}\n`);
}

async function runOnce(c: MultiAgentCoordinator, t: Parameters<MultiAgentCoordinator['distributeTask']>[0], s: Parameters<MultiAgentCoordinator['distributeTask']>[1]): Promise<CoordinationResult> {
  return ok(await c.executeDistributedTask(ok(await c.distributeTask(t, s))));
}

describe('resuming a journaled run', () => {
  it('after a crash while b ran: a is not executed again, b runs again as attempt 2, c runs as attempt 1; outputs are whole', async () => {
    const journal = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-journal-')));
    const first = new Map<string, number>();
    const done = await runOnce(await journaled(journal, first), chain, strategy('hybrid'));
    expect(done.success).toBe(true);
    // A crash while b ran: the file ends with a's success (b's start is never written).
    cutJournal(journal, done.coordinationId, (r) => r.type === 'subtask-succeeded' && r.subtaskId === 'a');
    const again = new Map<string, number>();
    const resumed = ok(await (await journaled(journal, again)).resume(done.coordinationId));
    expect(resumed.success).toBe(true);
    expect(resumed.coordinationId).toBe(done.coordinationId);
    expect(Object.fromEntries(again)).toEqual({ b: 1, c: 1 });
    expect(report(resumed, 'a')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(report(resumed, 'b')).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(output(resumed, 'b').attempt).toBe(2);
    // c could not have been sent before the crash (b had not succeeded): its number is not raised.
    expect(report(resumed, 'c')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(Object.keys(resumed.aggregatedResult.outputs).sort()).toEqual(['a', 'b', 'c']);
  });

  it('a finished run is not run again: its stored result comes back', async () => {
    const journal = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-journal-')));
    const done = await runOnce(await journaled(journal, new Map()), chain, strategy('hybrid'));
    const again = new Map<string, number>();
    const resumed = ok(await (await journaled(journal, again)).resume(done.coordinationId));
    expect(again.size).toBe(0);
    expect(resumed.success).toBe(true);
    expect(resumed.aggregatedResult.outputs).toEqual(done.aggregatedResult.outputs);
  });

  it('a cancelled run resumes like a killed one: its cancelled subtasks run again', async () => {
    const journal = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-journal-')));
    const first = new Map<string, number>();
    const c = await journaled(journal, first);
    const plan = ok(await c.distributeTask(task('slow', [sub('a', [{ do: 'busy', ms: 1 }]), sub('b', [{ do: 'sleep', ms: 30_000 }])], { b: ['a'] }), strategy('hybrid')));
    const running = c.executeDistributedTask(plan);
    // b has begun (a's success is on disk before it can).
    while (!first.has('b')) await new Promise((r) => setTimeout(r, 20));
    await c.cancel('test interrupt');
    const cancelled = ok(await running);
    expect(cancelled.success).toBe(false);
    // The resumed b sleeps 30 s again: cut it short by cancelling that run too, then check what ran.
    const again = new Map<string, number>();
    const c2 = await journaled(journal, again);
    const resuming = c2.resume(plan.distributionId);
    while (!again.has('b')) await new Promise((r) => setTimeout(r, 20));
    await c2.cancel('done checking');
    ok(await resuming);
    expect(Object.fromEntries(again)).toEqual({ b: 1 });
  });

  it('a decision released before the crash keeps its outcome', async () => {
    const journal = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-journal-')));
    const t = task('vote', [sub('x', [{ do: 'sync', point: 'd', value: 'yes' }]), sub('y', [{ do: 'sync', point: 'd', value: 'yes' }]), sub('z', [{ do: 'busy', ms: 1 }])], { z: ['x', 'y'] });
    const s = strategy('parallel', { synchronizationPoints: [point('d', 'decision', { participatingAgents: ['x', 'y'] })] });
    const done = await runOnce(await journaled(journal, new Map()), t, s);
    expect(done.success).toBe(true);
    // Crash right after the decision was released: x and y were still running.
    cutJournal(journal, done.coordinationId, (r) => r.type === 'sync-released');
    const journalFile = path.join(journal, done.coordinationId, JOURNAL_FILE);
    const lines = readFileSync(journalFile, 'utf8').trim().split('\n');
    // The recorded decision, changed to 'no' (with a valid checksum): participants that arrive
    // again after the resume must get the recorded outcome, not decide anew ('yes').
    const released = JSON.parse(lines.at(-1)!.slice(9)) as Record<string, unknown>;
    expect(released['type']).toBe('sync-released');
    lines[lines.length - 1] = encodeRecord({ ...released, type: 'sync-released', outcome: 'no' }).trimEnd();
    writeFileSync(journalFile, `${lines.join('\n')}\n`);
    const again = new Map<string, number>();
    const resumed = ok(await (await journaled(journal, again)).resume(done.coordinationId));
    expect(resumed.success).toBe(true);
    expect(again.get('x')).toBe(1);
    expect(output(resumed, 'x').log).toEqual([{ sync: 'd', value: 'no' }]);
    expect(output(resumed, 'y').log).toEqual([{ sync: 'd', value: 'no' }]);
  });

  it('refuses a journal folder agents could write to (a forged success would be replayed)', async () => {
    const grant = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-grant-')));
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-resume-')));
    const c = ok(
      await createCoordinator({
        cwd: root,
        transport: inMemoryTransport(),
        journal: { dir: path.join(grant, 'runs') },
        config: { plugins: [STEPS_PLUGIN], logging: { level: 'silent' }, pool: { enabled: false }, sandbox: { workspaceRoot: root, writePaths: [grant] } },
      }),
    );
    open.push(c);
    const e = err(await c.executeDistributedTask(ok(await c.distributeTask(chain, strategy('hybrid')))));
    expect(e.code).toBe('JOURNAL_UNAVAILABLE');
    expect(e.message).toContain('agents could rewrite it');
    // Nothing ran and nothing was written under the grant.
    expect(readdirSync(grant)).toEqual([]);
    expect(err(await c.resume('any')).code).toBe('JOURNAL_UNAVAILABLE');
  });

  it('refuses an unknown run, and resume without a journal folder', async () => {
    const journal = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-journal-')));
    expect(err(await (await journaled(journal, new Map())).resume('nope')).code).toBe('NOT_FOUND');
    const bare = ok(await createCoordinator({ config: { logging: { level: 'silent' } }, journal: false }));
    open.push(bare);
    expect(err(await bare.resume('nope')).code).toBe('INVALID_CONFIG');
  });
});
