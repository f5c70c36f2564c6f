/**
 * Agents are leased, not churned, and nothing leaks (issue 10, items 5 and 6), with real agent
 * processes: the budget's cap is announced, fitting idle agents are reused, no abort listeners
 * pile up, no warm-pool agents start at a run's end, pidusage's /proc fds close with their
 * agents, and a coordinator short of file descriptors ends its run with failed subtasks.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsOf, liveCoordinator, processesUnder, strategy, sub, task, type LiveCoordinator } from '../live-helpers.js';
import { waitUntil } from '../sandbox-helpers.js';

let c: LiveCoordinator | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

/** This process's descriptors open on some /proc/<pid>/stat (pidusage's readings). */
function procStatFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (/^\/proc\/\d+\/stat$/.test(readlinkSync(`/proc/self/fd/${fd}`))) n++;
    } catch {
      // Closed meanwhile.
    }
  }
  return n;
}

describe('leasing', () => {
  it('announces the allocation cap, and reuses the idle agents it allows instead of retiring them', async () => {
    c = await liveCoordinator({ resources: { maxConcurrentAllocations: 3 } });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    const subtasks = Array.from({ length: 15 }, (_, i) => sub(`s${i}`, [{ do: 'sleep', ms: 60 }]));
    const result = await c.run(task('lease', subtasks), strategy('parallel', { maxConcurrentAgents: 12 }));
    process.off('warning', onWarning);
    expect(result.success).toBe(true);
    const changes = eventsOf(c.events, 'concurrency').filter((e) => e.coordinationId === result.coordinationId);
    expect(changes).toMatchObject([{ value: 3, limitedBy: 'resources.maxConcurrentAllocations', requested: 12 }]);
    expect(changes[0]!.reason).toMatch(/resources\.maxConcurrentAllocations is 3/);
    // Three agents ran all fifteen subtasks: none was retired to start an identical one.
    const agents = new Set(result.aggregatedResult.subtasks.map((s) => s.agentId));
    expect(agents.size).toBe(3);
    expect(eventsOf(c.events, 'agent').filter((e) => e.event.type === 'status' && /making room/.test(JSON.stringify(e.event)))).toEqual([]);
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('starts no warm-pool agents at the end of a run, and closes pidusage\'s /proc fds of exited agents', async () => {
    c = await liveCoordinator({ pool: { enabled: true, size: 2 } });
    const subtasks = Array.from({ length: 6 }, (_, i) => sub(`s${i}`, [{ do: 'sleep', ms: 150 }], { executionConstraints: { maxMemory: 100 + i } }));
    const result = await c.run(task('no-refill', subtasks), strategy('parallel', { maxConcurrentAgents: 3 }));
    expect(result.success).toBe(true);
    expect(new Set(result.aggregatedResult.subtasks.map((s) => s.agentId)).size).toBe(6);
    // The run's agents are gone, and no pool agent was started for its six profiles.
    expect(processesUnder(c.root)).toEqual([]);
    // pidusage's descriptors of the exited agents close (after any reading in flight), long
    // before pidusage's own 60 s expiry.
    expect(await waitUntil(() => procStatFds() === 0)).toBe(true);
  });
});

describe('spawn failures', () => {
  it('a coordinator short of file descriptors ends its run with failed subtasks, never a crash', () => {
    const script = path.join(import.meta.dirname, '../fixtures/churn-low-fd.mjs');
    const out = execFileSync('bash', ['-c', `ulimit -n 150 && exec "${process.execPath}" "${script}"`], { encoding: 'utf8', timeout: 60_000 });
    const report = JSON.parse(out) as { tag: string; succeeded: number; failed: number; codes: string[] };
    expect(report.tag).toBe('success');
    expect(report.failed).toBeGreaterThan(0);
    expect(report.codes).toEqual(['INSUFFICIENT_RESOURCES']);
    expect(report.succeeded + report.failed).toBe(60);
  });
});
