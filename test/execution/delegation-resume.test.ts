/**
 * Delegated subtasks in a journaled run (in this process, on the in-memory transport): they are
 * journaled with their parent; after a crash, the parent runs again and asks for the same
 * children, and those that had succeeded are not executed again. A journal whose delegated
 * subtask was widened is not believed.
 */
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCoordinator, type CoordinationResult, type MultiAgentCoordinator } from '../../src/index.js';
import { expandRecord } from '../../src/journal/event-group.js';
import type { JournalRecord } from '../../src/journal/record.js';
import { encodeRecord } from '../journal/lines.js';
import { JOURNAL_FILE } from '../../src/journal/runs.js';
import { watchedTransport } from '../watched-transport.js';
import { ok } from '../helpers.js';
import { report, strategy, task } from '../live-helpers.js';

const DELEGATOR = path.join(import.meta.dirname, '../fixtures/plugins/delegator.mjs');
const open: MultiAgentCoordinator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function journaled(journal: string, runs: Map<string, number>): Promise<MultiAgentCoordinator> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-dresume-')));
  const transport = watchedTransport((subtask) => runs.set(subtask.id, (runs.get(subtask.id) ?? 0) + 1));
  const coordinator = ok(await createCoordinator({ cwd: root, transport, journal: { dir: journal }, config: { plugins: [DELEGATOR], logging: { level: 'silent' }, pool: { enabled: false }, sandbox: { workspaceRoot: root } } }));
  open.push(coordinator);
  return coordinator;
}

const fan = task('fan', [{ id: 'p', agent: 'delegator', inputs: [{ name: 'mode', value: 'fanout' }, { name: 'values', value: [1, 2, 3] }], expectedOutputs: [{ name: 'sum' }, { name: 'outs' }] }]);

/** The journal's lines, each parsed; `cut` is the index of the line holding p~2's success (successes written together share one line). */
function records(journal: string, runId: string): { lines: string[]; parsed: Record<string, unknown>[]; cut: number } {
  const lines = readFileSync(path.join(journal, runId, JOURNAL_FILE), 'utf8').split('\n').filter((l) => l !== '');
  const parsed = lines.map((l) => JSON.parse(l.slice(9)) as JournalRecord);
  const cut = parsed.findIndex((r) => expandRecord(r)!.some((e) => isP2Success(e)));
  return { lines, parsed, cut };
}

const isP2Success = (e: JournalRecord): boolean => e.type === 'subtask-succeeded' && e['subtaskId'] === 'p~2';

/** The journal as a crash right before p~2's success would leave it: the lines before its line, and the records of its line before it (each a line). */
function beforeP2(lines: readonly string[], cut: number): string {
  const group = expandRecord(JSON.parse(lines[cut]!.slice(9)) as JournalRecord)!;
  const kept = [...lines.slice(0, cut), ...group.slice(0, group.findIndex(isP2Success)).map((r) => encodeRecord(r).trimEnd())];
  return `${kept.join('\n')}\n`;
}

async function firstRun(journal: string): Promise<CoordinationResult> {
  const c = await journaled(journal, new Map());
  const done = ok(await c.executeDistributedTask(ok(await c.distributeTask(fan, strategy('sequential', { maxConcurrentAgents: 1 })))));
  expect(done.success).toBe(true);
  return done;
}

describe('delegation in durable runs', () => {
  it('after a crash while the third child ran: the parent runs again, the two children that had succeeded are not executed again', async () => {
    const journal = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-djournal-')));
    const done = await firstRun(journal);
    // Everything before the third child's success.
    const { lines, parsed, cut } = records(journal, done.coordinationId);
    expect(cut).toBeGreaterThan(0);
    expect(parsed.some((r) => r['type'] === 'subtasks-added')).toBe(true);
    writeFileSync(path.join(journal, done.coordinationId, JOURNAL_FILE), beforeP2(lines, cut));
    const again = new Map<string, number>();
    const resumed = ok(await (await journaled(journal, again)).resume(done.coordinationId));
    expect(resumed.success).toBe(true);
    expect(Object.fromEntries(again)).toEqual({ p: 1, 'p~2': 1 });
    expect(resumed.aggregatedResult.outputs['p']).toEqual({ sum: 12, outs: [2, 4, 6] });
    expect(report(resumed, 'p').attempts).toBe(2);
    expect(report(resumed, 'p~0')).toMatchObject({ status: 'succeeded', attempts: 1, parentId: 'p', depth: 1 });
  });

  it('a journal whose delegated subtask was widened (more memory than its parent) is not believed: the children run again', async () => {
    const journal = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-djournal-')));
    const done = await firstRun(journal);
    // Everything before the third child's success.
    const { lines, parsed, cut } = records(journal, done.coordinationId);
    const at = parsed.findIndex((r) => r['type'] === 'subtasks-added');
    const added = parsed[at] as { subtasks: { spec: { resourceLimits: { maxMemoryMB: number } } }[] };
    added.subtasks[0]!.spec.resourceLimits.maxMemoryMB = 100_000;
    lines[at] = encodeRecord(added as unknown as { type: string }).trimEnd();
    writeFileSync(path.join(journal, done.coordinationId, JOURNAL_FILE), beforeP2(lines, cut));
    const again = new Map<string, number>();
    const resumed = ok(await (await journaled(journal, again)).resume(done.coordinationId));
    expect(resumed.success).toBe(true);
    expect(Object.fromEntries(again)).toEqual({ p: 1, 'p~0': 1, 'p~1': 1, 'p~2': 1 });
    expect(resumed.aggregatedResult.outputs['p']).toEqual({ sum: 12, outs: [2, 4, 6] });
  });
});
