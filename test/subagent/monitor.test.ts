/**
 * The resource monitor on real processes (this test's own and a child it starts): memory is read
 * from /proc on every tick, CPU a few times per CPU window (through pidusage) and carried in the
 * samples between readings; a limit fires once; a process that is gone yields no sample.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRootLogger } from '../../src/logging/logger.js';
import type { LimitKind, ResourceMonitor as Monitor, UsageSample } from '../../src/subagent/monitor.js';
import { waitUntil } from '../sandbox-helpers.js';

/** pidusage as it is, with its calls counted (the monitor's CPU readings). */
const pidusageCalls = vi.hoisted(() => ({ count: 0 }));
vi.mock('pidusage', async (importOriginal) => {
  const real = ((await importOriginal()) as { default: (...args: unknown[]) => unknown }).default;
  return {
    default: (...args: unknown[]) => {
      pidusageCalls.count++;
      return real(...args);
    },
  };
});

// The suite's setup file has loaded the monitor already, with the real pidusage: load it afresh.
vi.resetModules();
const { ResourceMonitor, residentMB } = await import('../../src/subagent/monitor.js');

const logger = createRootLogger({ level: 'silent' });
const monitors: Monitor[] = [];

afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(pollIntervalMs: number, cpuWindowMs: number): Monitor {
  const m = new ResourceMonitor(pollIntervalMs, cpuWindowMs, logger);
  monitors.push(m);
  return m;
}

/** Burns this process's CPU for `ms` of wall time (the monitored process is this one). */
function burn(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

describe('ResourceMonitor (real processes)', () => {
  it('samples memory on every tick and reads CPU a few times per window, carrying it in between', async () => {
    // 10 ms ticks, a 400 ms window: a CPU reading every 10 ticks.
    const m = monitor(10, 400);
    const samples: UsageSample[] = [];
    pidusageCalls.count = 0;
    m.watch({ agentId: 'self', pid: process.pid, maxMemoryMB: 1_000_000, baselineMB: 0, onSample: (s) => samples.push(s), onLimit: () => undefined });
    // Enough ticks for several CPU readings and a full window, with CPU used in between.
    while (!(await waitUntil(() => samples.length >= 60 && samples.at(-1)!.cpuWindowPercent !== undefined, 100))) burn(30);
    // Memory is this process's resident memory (read at the tick, so near what we read now).
    const rss = residentMB(process.pid);
    expect(samples.at(-1)!.rssMB).toBeGreaterThan(rss / 2);
    expect(samples.at(-1)!.rssMB).toBeLessThan(rss * 2);
    // CPU is read once per 10 ticks (at most one reading in flight), and every sample carries the last reading.
    expect(pidusageCalls.count).toBeGreaterThan(1);
    expect(pidusageCalls.count).toBeLessThanOrEqual(Math.ceil(samples.length / 10) + 1);
    expect(samples.at(-1)!.cpuWindowPercent).toBeGreaterThan(0);
  });

  it('walks a workspace of many files less often than it ticks, carrying the last walk in between', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'qicoord-walk-'));
    for (let i = 0; i < 10_000; i++) writeFileSync(path.join(dir, `f${i}`), '');
    const m = monitor(10, 1000);
    const samples: UsageSample[] = [];
    let added = 0;
    m.watch({
      agentId: 'self',
      pid: process.pid,
      maxMemoryMB: 1_000_000,
      baselineMB: 0,
      disk: { path: dir, maxBytes: 2 ** 40 },
      // A new file after every sample: each walk sees a count no walk saw before.
      onSample: (s) => {
        samples.push(s);
        writeFileSync(path.join(dir, `n${added++}`), '');
      },
      onLimit: () => undefined,
    });
    expect(await waitUntil(() => samples.length >= 150, 20_000)).toBe(true);
    const walks = new Set(samples.map((s) => s.diskEntries)).size;
    expect(samples[0]!.diskEntries).toBe(10_000);
    expect(walks).toBeGreaterThan(1);
    expect(walks).toBeLessThanOrEqual(samples.length / 2);
  });

  it('stops a process over its memory limit once, and yields nothing for one that is gone', async () => {
    const m = monitor(10, 1000);
    const limits: LimitKind[] = [];
    const samples: UsageSample[] = [];
    m.watch({ agentId: 'self', pid: process.pid, maxMemoryMB: 1, baselineMB: 0, onSample: (s) => samples.push(s), onLimit: (kind) => limits.push(kind) });
    expect(await waitUntil(() => limits.length > 0)).toBe(true);
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = child.pid!;
    await new Promise((resolve) => child.once('exit', resolve));
    const goneSamples: UsageSample[] = [];
    m.watch({ agentId: 'gone', pid, maxMemoryMB: 0, baselineMB: 0, onSample: (s) => goneSamples.push(s), onLimit: (kind) => limits.push(kind) });
    // Many ticks later (this process is still sampled on each), still one limit and nothing from the gone pid.
    const seen = samples.length;
    expect(await waitUntil(() => samples.length >= seen + 20)).toBe(true);
    expect(goneSamples).toEqual([]);
    expect(limits).toEqual(['memory']);
  });
});
