import { describe, expect, it } from 'vitest';
import type { CoordinatorEvent } from '../src/events/types.js';
import { asInterrupted } from '../src/cli/interrupt.js';
import { renderFrame } from '../src/cli/progress/frame.js';
import { ProgressModel } from '../src/cli/progress/model.js';
import { formatSummary } from '../src/cli/summary.js';
import type { CoordinationResult } from '../src/execution/types.js';
import { qiError } from '../src/errors/catalogue.js';

const T0 = 1_000_000;

/** A run with `agents` agents, each executing one subtask, and `done` subtasks finished. */
function model(agents: number, subtasks = agents * 3): ProgressModel {
  const m = new ProgressModel();
  const at = T0;
  m.apply({ type: 'run-start', coordinationId: 'c', taskId: 't', subtasks, at });
  for (let i = 0; i < agents; i++) {
    const agentId = `qicoord.sa${i}-0123abcd`;
    m.apply({ type: 'agent', event: { type: 'status', agentId, agentType: 'specialized', plugin: 'pipeline-stage', status: 'executing' }, at } as CoordinatorEvent);
    m.apply({ type: 'subtask-start', coordinationId: 'c', subtaskId: `a-rather-long-subtask-name-${i}`, agentId, attempt: 1, at });
    m.apply({ type: 'agent', event: { type: 'usage', agentId, sample: { rssMB: 61.2, cpuPercent: 12.5 } }, at } as unknown as CoordinatorEvent);
  }
  m.apply({ type: 'subtask-end', coordinationId: 'c', subtaskId: 'x', status: 'succeeded', attempt: 1, at });
  m.apply({ type: 'subtask-end', coordinationId: 'c', subtaskId: 'y', status: 'failed', attempt: 1, at });
  m.apply({ type: 'subtask-end', coordinationId: 'c', subtaskId: 'z', status: 'cancelled', attempt: 1, at });
  return m;
}

describe('live table: a pure function of (model, time, columns, rows)', () => {
  it('at 80×24 every line fits in 79 columns and the key columns stay', () => {
    const lines = renderFrame(model(4), T0 + 1500, 80, 24);
    expect(lines.length).toBe(1 + 4 + 1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(79);
    expect(lines[0]).toMatch(/^AGENT\s+STATUS\s+SUBTASK\s+PROGRESS\s+CPU%\s+RSS MB\s+TOOLS\s+ELAPSED$/);
    expect(lines[1]).toContain('sa0-0123abcd');
    expect(lines[1]).toContain('executing');
    expect(lines[1]).toContain('1.5s');
    expect(lines.at(-1)).toMatch(/^overall .* 3\/12 subtasks \(1 ok, 1 failed, 1 cancelled\)/);
  });

  it('never taller than the window: hidden agents are summarized', () => {
    const lines = renderFrame(model(30), T0, 80, 8);
    expect(lines.length).toBeLessThanOrEqual(7);
    expect(lines).toContain('… and 26 more agents');
    expect(lines.at(-1)).toMatch(/^overall/);
    expect(renderFrame(model(30), T0, 80, 3)).toHaveLength(1);
  });

  it('on a wide window shows every column, on a narrow one drops the least important', () => {
    expect(renderFrame(model(1), T0, 200, 24)[0]).toContain('TYPE');
    const narrow = renderFrame(model(1), T0, 50, 24);
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(49);
    expect(narrow[0]).toMatch(/^AGENT\s+STATUS\s+SUBTASK\s+PROGRESS/);
  });
});

function result(): CoordinationResult {
  const crash = qiError('AGENT_CRASHED', "agent qicoord.sa1 exited during subtask 's1' (exit code null, signal SIGKILL)", {});
  const subtask = (id: string, status: 'succeeded' | 'failed' | 'cancelled', endedAt: string | null, error?: ReturnType<typeof qiError>) => ({
    id,
    agentId: status === 'cancelled' && endedAt === null ? null : `qicoord.${id}`,
    status,
    attempts: 1,
    ...(error === undefined ? {} : { error }),
    startedAt: endedAt === null ? null : new Date(T0).toISOString(),
    endedAt,
    resourceUsage: null,
  });
  const usage = { memoryMB: 60, cpuPercent: 0, toolCalls: 0, networkRequests: 0, fileOperations: 0, executionTimeMs: 0 };
  return {
    coordinationId: 'c',
    success: false,
    results: ['s0', 's1'].map((id) => ({ agentId: `qicoord.${id}`, success: id === 's0', executionTime: 1, tasksCompleted: id === 's0' ? 1 : 0, resourceUsage: usage })),
    aggregatedResult: {
      outputs: {},
      subtasks: [subtask('s0', 'succeeded', new Date(T0 + 100).toISOString()), subtask('s1', 'cancelled', new Date(T0 + 900).toISOString(), crash), subtask('s2', 'cancelled', null)],
      totalResults: 3,
      successfulResults: 1,
      failedResults: 1,
      combinedResults: [],
      executionSummary: { totalExecutionTime: 1, averageExecutionTime: 1, tasksCompleted: 1 },
      fallbacks: [],
    },
    metrics: { totalAgents: 2, successfulAgents: 1, failedAgents: 1, averageExecutionTime: 1, totalResourceUsage: usage, communicationOverhead: 0, coordinationEfficiency: 0.5 },
    executionTime: 1000,
  } as unknown as CoordinationResult;
}

describe('interrupted runs as the user sees them', () => {
  it('subtasks stopped by the signal are CANCELLED (the crash kept as cause), counts add up, agents not failed', () => {
    const r = asInterrupted(result(), 'SIGTERM', T0 + 500);
    expect(r.aggregatedResult.subtasks.map((s) => [s.status, s.error?.code])).toEqual([
      ['succeeded', undefined],
      ['cancelled', 'CANCELLED'],
      ['cancelled', 'CANCELLED'],
    ]);
    expect(r.aggregatedResult.subtasks[1]!.error!.context['cause']).toMatchObject({ code: 'AGENT_CRASHED' });
    expect(r.metrics.failedAgents).toBe(0);
    const text = formatSummary(r, [], { columns: 80 });
    expect(text.split('\n')[0]).toBe('FAILED: 1/3 subtasks in 1.0s (1 ok, 0 failed, 2 cancelled, 0 skipped)');
    expect(text).toContain('agents 2 (0 failed)');
    expect(text).toContain('error [CANCELLED] run interrupted by SIGTERM');
    for (const line of text.split('\n').filter((l) => /^s\d /.test(l))) expect(line.length).toBeLessThanOrEqual(79);
  });

  it("the summary's ERROR column is cut to the window, and the full error follows with its fix", () => {
    const base = result();
    const long = qiError('AGENT_ERROR', `plugin failed: ${'x'.repeat(200)}`, {});
    const failed = { ...base, aggregatedResult: { ...base.aggregatedResult, subtasks: [{ ...base.aggregatedResult.subtasks[0]!, status: 'failed' as const, error: long }] } };
    const lines = formatSummary(failed, [], { columns: 80 }).split('\n');
    const row = lines.find((l) => l.startsWith('s0 '))!;
    expect(row.length).toBeLessThanOrEqual(79);
    expect(row.endsWith('…')).toBe(true);
    expect(lines).toContain(`s0: error [AGENT_ERROR] plugin failed: ${'x'.repeat(200)}`);
    expect(lines).toContain('fix: fix the plugin');
  });
});

describe('live table on a terminal: redrawn in place', () => {
  it('draws a frame per interval while something changed, each new one over the last (cursor up, clear), and restores the cursor at the end', async () => {
    const { vi } = await import('vitest');
    const { TtyRenderer } = await import('../src/cli/progress/renderers.js');
    vi.useFakeTimers();
    try {
      let text = '';
      const out = { columns: 80, rows: 24, write: (t: string) => ((text += t), true) } as unknown as NodeJS.WriteStream;
      const renderer = new TtyRenderer(out, 100);
      expect(text).toBe('\x1b[?25l');
      renderer.onEvent({ type: 'run-start', coordinationId: 'c', taskId: 't', subtasks: 2, at: T0 });
      renderer.onEvent({ type: 'subtask-start', coordinationId: 'c', subtaskId: 'one', agentId: 'qicoord.sa1-0123abcd', attempt: 1, at: T0 });
      vi.advanceTimersByTime(100);
      const first = text.length;
      expect(text).toContain('one');
      expect(text).not.toMatch(/\x1b\[\d+A/);
      renderer.onEvent({ type: 'subtask-end', coordinationId: 'c', subtaskId: 'one', agentId: 'qicoord.sa1-0123abcd', status: 'succeeded', attempt: 1, at: T0 + 5 });
      vi.advanceTimersByTime(100);
      // The second frame starts by moving up over the first and clearing below.
      expect(text.slice(first)).toMatch(/^\x1b\[\d+A\r\x1b\[J/);
      renderer.stop();
      expect(text.endsWith('\x1b[?25h')).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
