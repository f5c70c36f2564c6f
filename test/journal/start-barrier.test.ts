/**
 * The journal's write barrier: an attempt's number is reserved in the journal file before its
 * agent gets the subtask (starts themselves are not journaled: a resume numbers every attempt
 * above the reserved ones). The in-memory transport runs the plugin in this process, behind the
 * same channel and frame writer as a child process, so the plugin reads the file at the moment it
 * receives the subtask; without the barrier the reservation would still wait for its batch
 * (up to MAX_QUEUED_MS), after the in-memory agent already had the subtask.
 */
import { mkdtempSync, readdirSync, realpathSync } from 'node:fs';
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

/** The highest attempt number reserved in the journal of every run under `journalDir`, as the file holds it now (0: none). */
function reservedOnDisk(journalDir: string): number {
  let reserved = 0;
  for (const run of readdirSync(journalDir)) {
    const contents = ok(readJournal(path.join(journalDir, run, JOURNAL_FILE)));
    for (const r of contents.records) if (r.type === 'attempts-reserved') reserved = Math.max(reserved, Number(r['upTo']));
  }
  return reserved;
}

/** Every journaled record's type, in every run under `journalDir`. */
function typesOnDisk(journalDir: string): string[] {
  return readdirSync(journalDir).flatMap((run) => ok(readJournal(path.join(journalDir, run, JOURNAL_FILE))).records.map((r) => r.type));
}

/**
 * A journaling coordinator whose plugins run in this process; `seen` maps each attempt
 * (`id#attempt`) to the highest reservation its journal file held when the plugin received it.
 */
async function watchedCoordinator(): Promise<{ coordinator: MultiAgentCoordinator; journalDir: string; seen: Map<string, number> }> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-barrier-')));
  const journalDir = path.join(root, 'runs');
  const seen = new Map<string, number>();
  const transport = watchedTransport((subtask) => seen.set(`${subtask.id}#${subtask.attempt}`, reservedOnDisk(journalDir)));
  const coordinator = ok(
    await createCoordinator({
      cwd: root,
      transport,
      journal: { dir: journalDir },
      config: { plugins: [STEPS_PLUGIN], logging: { level: 'silent' }, pool: { enabled: false }, sandbox: { workspaceRoot: path.join(root, 'ws') } },
    }),
  );
  open.push(coordinator);
  return { coordinator, journalDir, seen };
}

describe('the journal write barrier', () => {
  it("an attempt's number is reserved in the journal file when its agent receives the subtask, several dispatched at once too; starts are not journaled", async () => {
    const { coordinator, journalDir, seen } = await watchedCoordinator();
    // Four independent subtasks on up to four agents (dispatched together), then one after them
    // on an agent that already ran one.
    const ids = ['a', 'b', 'c', 'd'];
    const t = task('barrier', [...ids.map((id) => sub(id, [])), sub('e', [])], { e: ids });
    const plan = ok(await coordinator.distributeTask(t, strategy('parallel', { maxConcurrentAgents: 4 })));
    const result = ok(await coordinator.executeDistributedTask(plan));
    expect(result.success).toBe(true);
    expect([...seen.keys()].sort()).toEqual(['a#1', 'b#1', 'c#1', 'd#1', 'e#1']);
    for (const [key, reserved] of seen) expect(reserved, key).toBeGreaterThanOrEqual(Number(key.split('#')[1]));
    const types = typesOnDisk(journalDir);
    expect(types).not.toContain('subtask-started');
    expect(types.filter((x) => x === 'attempts-reserved')).toHaveLength(1);
    expect(types).toContain('run-ended');
  });

  it('a retried attempt reserves its number before its agent gets it', async () => {
    const { coordinator, seen } = await watchedCoordinator();
    // Past its maxDuration on attempt 1: its deadline is extended and it runs again, as attempt 2.
    const t = task('retry', [sub('slow', [{ do: 'sleep', ms: 2_000, attempt: 1 }], { executionConstraints: { maxMemory: 128, maxDuration: 200 } })]);
    const result = ok(await coordinator.executeDistributedTask(ok(await coordinator.distributeTask(t, strategy('sequential')))));
    expect(result.success, JSON.stringify(result.error)).toBe(true);
    expect(seen).toEqual(new Map([['slow#1', 1], ['slow#2', 2]]));
  });
});

describe("the run's journal sink", () => {
  it('flushPending writes only when a record a frame depends on is pending, and then everything queued before it, in order', async () => {
    const dir = tempProject();
    const journal = ok(await startRunJournal(dir, { runId: 'r', taskId: 't', subtaskCount: 2, task: { id: 't' }, strategy: {}, fingerprint: runFingerprint({ id: 't' }, {}, {}), configFingerprint: 'c', qicoordVersion: '0', startedAt: 1 }));
    const sink = new RunJournalSink(journal, createRootLogger({ level: 'silent' }));
    const file = path.join(dir, 'r', JOURNAL_FILE);
    const types = (): string[] => ok(readJournal(file)).records.map((r) => r.type);
    const succeeded = { type: 'subtask-succeeded', index: 0, subtaskId: 'a', attempt: 1, outputs: {}, usage: {}, agentId: 'x', startedAt: 2, at: 3 } as unknown as RunEvent;
    sink.record(succeeded);
    // Nothing pending: the barrier leaves the success to its batch; a dispatch and a start are never journaled.
    sink.record({ type: 'subtask-dispatched', index: 1, subtaskId: 'b', attempt: 1, at: 4 });
    sink.record({ type: 'subtask-started', index: 1, subtaskId: 'b', attempt: 1, agentId: 'x', at: 4 });
    sink.flushPending();
    expect(types()).toEqual(['head']);
    sink.record({ type: 'attempts-reserved', upTo: 2, at: 5 });
    sink.flushPending();
    expect(types()).toEqual(['head', 'subtask-succeeded', 'attempts-reserved']);
    // Once written, the next barrier has nothing to do.
    sink.flushPending();
    expect(types()).toHaveLength(3);
    // A delegation and a sync point's release are written before the next frame too.
    for (const event of [{ type: 'subtasks-added', subtasks: [], at: 6 }, { type: 'sync-released', pointId: 'p', outcome: 'yes', at: 7 }] as RunEvent[]) {
      sink.record(event);
      sink.flushPending();
      expect(types().at(-1)).toBe(event.type);
    }
    await sink.durable();
    ok(journal.close());
  });
});
