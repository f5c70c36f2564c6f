/**
 * The journal's write barrier: an attempt's start is in the journal file before its agent gets
 * the subtask. The in-memory transport runs the plugin in this process, behind the same channel
 * and frame writer as a child process, so the plugin reads the file at the moment it receives
 * the subtask; without the barrier the start would still wait for its batch (the end of the
 * turn), after the in-memory agent already had the subtask.
 */
import { mkdtempSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RunJournalSink } from '../../src/execution/run-journal-sink.js';
import type { RunEvent } from '../../src/execution/run-events.js';
import { createCoordinator, type MultiAgentCoordinator } from '../../src/index.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { readJournal } from '../../src/journal/read.js';
import { runFingerprint, startRunJournal } from '../../src/journal/run-journal.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { watchedTransport } from '../watched-transport.js';
import { ok, tempProject } from '../helpers.js';
import { STEPS_PLUGIN, strategy, sub, task } from '../live-helpers.js';

const open: MultiAgentCoordinator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** The journaled attempts (subtask id and attempt) of every run under `journalDir`, as the file holds them now. */
function startsOnDisk(journalDir: string): string[] {
  const starts: string[] = [];
  for (const run of readdirSync(journalDir)) {
    const contents = ok(readJournal(path.join(journalDir, run, JOURNAL_FILE)));
    for (const r of contents.records) if (r.type === 'subtask-started') starts.push(`${String(r['subtaskId'])}#${String(r['attempt'])}`);
  }
  return starts;
}

describe('the journal write barrier', () => {
  it("an attempt's start is in the journal file when its agent receives the subtask, several starts dispatched at once too", async () => {
    const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-barrier-')));
    const journalDir = path.join(root, 'runs');
    // What the file held when each subtask reached its agent's plugin.
    const seen = new Map<string, string[]>();
    const transport = watchedTransport((subtask) => seen.set(`${subtask.id}#${subtask.attempt}`, startsOnDisk(journalDir)));
    const coordinator = ok(
      await createCoordinator({
        cwd: root,
        transport,
        journal: { dir: journalDir },
        config: { plugins: [STEPS_PLUGIN], logging: { level: 'silent' }, pool: { enabled: false }, sandbox: { workspaceRoot: path.join(root, 'ws') } },
      }),
    );
    open.push(coordinator);
    // Four independent subtasks on up to four agents (dispatched together), then one after them
    // on an agent that already ran one (its start is batched with an earlier success).
    const ids = ['a', 'b', 'c', 'd'];
    const t = task('barrier', [...ids.map((id) => sub(id, [])), sub('e', [])], { e: ids });
    const plan = ok(await coordinator.distributeTask(t, strategy('parallel', { maxConcurrentAgents: 4 })));
    const result = ok(await coordinator.executeDistributedTask(plan));
    expect(result.success).toBe(true);
    expect([...seen.keys()].sort()).toEqual(['a#1', 'b#1', 'c#1', 'd#1', 'e#1']);
    for (const [attempt, starts] of seen) expect(starts).toContain(attempt);
    // And the file ends with every start, each once.
    expect(startsOnDisk(journalDir).sort()).toEqual(['a#1', 'b#1', 'c#1', 'd#1', 'e#1']);
    expect(readFileSync(path.join(journalDir, readdirSync(journalDir)[0]!, JOURNAL_FILE), 'utf8')).toContain('"type":"run-ended"');
  });
});

describe("the run's journal sink", () => {
  it('flushPending writes only when a start is pending, and then everything queued before it, in order', async () => {
    const dir = tempProject();
    const journal = ok(await startRunJournal(dir, { runId: 'r', taskId: 't', subtaskCount: 2, task: { id: 't' }, strategy: {}, fingerprint: runFingerprint({ id: 't' }, {}, {}), configFingerprint: 'c', qicoordVersion: '0', startedAt: 1 }));
    const sink = new RunJournalSink(journal, createRootLogger({ level: 'silent' }));
    const file = path.join(dir, 'r', JOURNAL_FILE);
    const types = (): string[] => ok(readJournal(file)).records.map((r) => r.type);
    const succeeded = { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 1, outputs: {}, usage: {}, at: 3 } as unknown as RunEvent;
    const started = { type: 'subtask-started', index: 1, subtaskId: 'b', attempt: 1, agentId: 'x', at: 4 } as RunEvent;
    sink.record(succeeded);
    // No start pending: the barrier leaves the success to its batch.
    sink.flushPending();
    expect(types()).toEqual(['head']);
    sink.record({ type: 'subtask-dispatched', index: 1, subtaskId: 'b', attempt: 1, at: 4 });
    sink.record(started);
    sink.flushPending();
    expect(types()).toEqual(['head', 'subtask-succeeded', 'subtask-started']);
    // Once written, the next barrier has nothing to do.
    sink.flushPending();
    expect(types()).toHaveLength(3);
    await sink.durable();
    ok(journal.close());
  });
});
