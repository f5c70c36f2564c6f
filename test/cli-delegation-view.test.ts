/** How delegated subtasks show: the live table nests them under their parent's agent; --trace nests their slices. */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CoordinatorEvent } from '../src/events/types.js';
import { renderFrame } from '../src/cli/progress/frame.js';
import { ProgressModel } from '../src/cli/progress/model.js';
import { TraceRecorder } from '../src/cli/trace.js';

const at = 1_000_000;

function start(agentId: string, subtaskId: string, when = at): CoordinatorEvent[] {
  return [
    { type: 'agent', event: { type: 'status', agentId, agentType: 'decision-capable', plugin: 'planner', status: 'executing' }, at: when } as CoordinatorEvent,
    { type: 'subtask-start', coordinationId: 'c', subtaskId, agentId, attempt: 1, at: when },
  ];
}

const delegated: CoordinatorEvent = {
  type: 'subtasks-delegated',
  coordinationId: 'c',
  parentId: 'plan',
  subtasks: [
    { id: 'plan~0', agent: 'reviewer', depth: 1, description: '' },
    { id: 'plan~1', agent: 'reviewer', depth: 1, description: '' },
  ],
  at,
};

describe('the live table', () => {
  it('counts delegated subtasks in the total and shows each child indented right under the agent running its parent', () => {
    const m = new ProgressModel();
    const events: CoordinatorEvent[] = [
      { type: 'run-start', coordinationId: 'c', taskId: 't', subtasks: 2, at },
      ...start('qicoord.sa0', 'other'),
      ...start('qicoord.sa1', 'plan'),
      delegated,
      ...start('qicoord.sa2', 'plan~0'),
      ...start('qicoord.sa3', 'plan~1'),
    ];
    for (const e of events) m.apply(e);
    expect(m.total).toBe(4);
    const lines = renderFrame(m, at + 1000, 120, 24);
    const rows = lines.slice(1, -1);
    expect(rows.map((l) => l.split(/\s+/)[0])).toEqual(['sa0', 'sa1', 'sa2', 'sa3']);
    expect(rows[2]).toContain('└ plan~0');
    expect(rows[1]).toMatch(/\splan\s/);
    const reordered = new ProgressModel();
    for (const e of [events[0]!, ...start('qicoord.sa2', 'plan~0'), ...start('qicoord.sa0', 'other'), ...start('qicoord.sa1', 'plan'), delegated]) reordered.apply(e);
    const order = renderFrame(reordered, at + 1000, 120, 24).slice(1, -1).map((l) => l.split(/\s+/)[0]);
    // The child's agent started first, yet it is shown under its parent's.
    expect(order).toEqual(['sa0', 'sa1', 'sa2']);
  });
});

describe('--trace', () => {
  it("records a delegation instant and repeats each child's slice on its parent's track, inside the parent's slice", () => {
    const trace = new TraceRecorder();
    for (const e of [...start('qicoord.sa1', 'plan', at), delegated, ...start('qicoord.sa2', 'plan~0', at + 10)]) trace.onEvent(e);
    trace.onEvent({ type: 'subtask-end', coordinationId: 'c', subtaskId: 'plan~0', agentId: 'qicoord.sa2', status: 'succeeded', attempt: 1, at: at + 20 });
    trace.onEvent({ type: 'subtask-end', coordinationId: 'c', subtaskId: 'plan', agentId: 'qicoord.sa1', status: 'succeeded', attempt: 1, at: at + 30 });
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'qicoord-trace-')), 'trace.json');
    expect(trace.write(file).tag).toBe('success');
    const events = (JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: { name: string; ph: string; cat: string; tid: number; ts: number; dur?: number; args?: Record<string, unknown> }[] }).traceEvents;
    const parent = events.find((e) => e.ph === 'X' && e.name === 'plan')!;
    const onParentTrack = events.find((e) => e.ph === 'X' && e.name === 'plan~0' && e.tid === parent.tid)!;
    expect(onParentTrack.cat).toBe('delegated');
    expect(onParentTrack.ts).toBeGreaterThanOrEqual(parent.ts);
    expect(onParentTrack.ts + onParentTrack.dur!).toBeLessThanOrEqual(parent.ts + parent.dur!);
    const own = events.find((e) => e.ph === 'X' && e.name === 'plan~0' && e.tid !== parent.tid)!;
    expect(own.args).toMatchObject({ parent: 'plan', status: 'succeeded' });
    expect(events.some((e) => e.ph === 'i' && e.name === 'delegate:plan' && e.tid === parent.tid)).toBe(true);
  });
});
