/**
 * ctx.delegate on real SubAgent processes: fan-out and merge, the depth and count limits, every
 * escalation refused (and a child holding what its parent holds still unable to do what the
 * parent cannot, checked by effect), a fan-out wider than the concurrency cap finishing, and
 * cancellation reaching every descendant (ctx.signal first, SIGKILL after the grace).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsOf, liveCoordinator, processesUnder, report, strategy, task, type LiveCoordinator } from './live-helpers.js';
import type { ConfigInput } from '../src/index.js';
import type { SubTaskInput } from '../src/schemas/task.js';

const DELEGATOR = path.join(import.meta.dirname, 'fixtures/plugins/delegator.mjs');

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

async function coordinator(config: ConfigInput = {}): Promise<LiveCoordinator> {
  live = await liveCoordinator({ plugins: [DELEGATOR], ...config });
  return live;
}

function d(id: string, inputs: Record<string, unknown>, outputs: string[], extra: Partial<SubTaskInput> = {}): SubTaskInput {
  return { id, agent: 'delegator', inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })), expectedOutputs: outputs.map((name) => ({ name })), executionConstraints: { maxMemory: 128 }, ...extra };
}

/** A folder every agent uid may write (tests run as root; agents as nobody). */
function openDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qicoord-deleg-'));
  chmodSync(dir, 0o777);
  return dir;
}

describe('fan-out and merge', () => {
  it('a parent delegates one child per value and merges their outputs; the children are in the result under it', async () => {
    const c = await coordinator();
    const result = await c.run(task('fan', [d('plan', { mode: 'fanout', values: [1, 2, 3, 4, 5] }, ['sum', 'outs'])]), strategy('hybrid', { maxConcurrentAgents: 2 }));
    expect(result.success).toBe(true);
    expect(result.aggregatedResult.outputs['plan']).toEqual({ sum: 30, outs: [2, 4, 6, 8, 10] });
    const children = result.aggregatedResult.subtasks.filter((s) => s.parentId === 'plan');
    expect(children.map((s) => s.id)).toEqual(['plan~0', 'plan~1', 'plan~2', 'plan~3', 'plan~4']);
    expect(children.every((s) => s.status === 'succeeded' && s.depth === 1)).toBe(true);
    expect(result.aggregatedResult.outputs['plan~2']).toEqual({ out: 6, depth: 1 });
    const delegated = eventsOf(c.events, 'subtasks-delegated');
    expect(delegated).toHaveLength(1);
    expect(delegated[0]!.parentId).toBe('plan');
  });
});
