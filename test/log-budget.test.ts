/**
 * One agent's log budget (issue 9, item 7), with a fake clock and an in-memory pino sink: the
 * byte cap, the rate cap, records below the level, and the one summary of what was dropped.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentLogBudget } from '../src/subagent/log-budget.js';

interface Line {
  level: number;
  msg: string;
  logCap?: { droppedRecords: number; droppedBytes: number; keptRecords: number };
  [key: string]: unknown;
}

function sink(level: pino.LevelWithSilent = 'info'): { logger: pino.Logger; lines: Line[]; bytes: () => number } {
  const lines: Line[] = [];
  let bytes = 0;
  // Shaped like the coordinator's: a root with name and pid, a child per agent.
  const root = pino(
    { level, name: 'qicoord', base: { pid: process.pid } },
    {
      write: (line: string): void => {
        bytes += Buffer.byteLength(line);
        lines.push(JSON.parse(line) as Line);
      },
    },
  );
  const logger = root.child({ agentId: 'coordinator-7.sa12-0123abcd', agentType: 'specialized' });
  return { logger, lines, bytes: () => bytes };
}

describe('AgentLogBudget', () => {
  it('writes records until the byte cap, drops the rest, and summarizes once when closed', () => {
    const out = sink();
    let now = 0;
    const budget = new AgentLogBudget('agent-1', out.logger, { maxBytes: 10_000, recordsPerSecond: 1_000_000 }, () => now);
    const text = 'x'.repeat(900);
    let written = 0;
    for (let i = 0; i < 100; i++) {
      now += 1;
      if (budget.write('warn', { subtaskId: 'a-subtask', fromAgent: true, data: { text } }, text)) written++;
    }
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(100);
    const usage = budget.usage();
    expect(usage.keptRecords).toBe(written);
    expect(usage.keptBytes).toBeLessThanOrEqual(10_000);
    expect(usage.droppedRecords).toBe(100 - written);
    // What was charged bounds what was written.
    expect(out.bytes()).toBeLessThanOrEqual(usage.keptBytes);

    budget.close();
    budget.close();
    const summaries = out.lines.filter((l) => l.logCap !== undefined);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]!.msg).toContain(`agent agent-1: ${100 - written} log records / ${usage.droppedBytes} bytes dropped after the cap`);
    expect(summaries[0]!.level).toBe(40);
    // Closed: nothing more is written.
    expect(budget.write('error', {}, 'late')).toBe(false);
    expect(out.lines.filter((l) => l.msg === 'late')).toHaveLength(0);
  });

  it('caps the rate: a burst of twice the rate, then the rate', () => {
    const out = sink();
    let now = 0;
    const budget = new AgentLogBudget('agent-2', out.logger, { maxBytes: 1e9, recordsPerSecond: 10 }, () => now);
    let written = 0;
    for (let i = 0; i < 100; i++) if (budget.write('info', {}, 'm')) written++;
    expect(written).toBe(20);
    now += 1000;
    for (let i = 0; i < 100; i++) if (budget.write('info', {}, 'm')) written++;
    expect(written).toBe(30);
  });

  it('records below the level are neither written nor charged, and without drops there is no summary', () => {
    const out = sink('warn');
    const budget = new AgentLogBudget('agent-3', out.logger, { maxBytes: 10_000, recordsPerSecond: 100 });
    for (let i = 0; i < 1000; i++) expect(budget.write('info', {}, 'quiet')).toBe(false);
    expect(budget.usage()).toEqual({ keptRecords: 0, keptBytes: 0, droppedRecords: 0, droppedBytes: 0 });
    expect(budget.write('warn', {}, 'loud')).toBe(true);
    budget.close();
    expect(out.lines.map((l) => l.msg)).toEqual(['loud']);
  });

  it('a single record larger than the whole budget is dropped', () => {
    const out = sink();
    const budget = new AgentLogBudget('agent-4', out.logger, { maxBytes: 4096, recordsPerSecond: 100 });
    expect(budget.write('error', { data: { big: 'y'.repeat(10_000) } }, 'big')).toBe(false);
    expect(budget.write('error', {}, 'small')).toBe(true);
    expect(out.lines.map((l) => l.msg)).toEqual(['small']);
  });
});
