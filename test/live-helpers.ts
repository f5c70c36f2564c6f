/**
 * Helpers for end-to-end tests of the coordinator with real SubAgent processes: a coordinator on
 * a fresh workspace root with the `steps` fixture plugin, task and strategy builders, the event
 * log of a run, and the agent processes still alive under the root.
 */
import { mkdtempSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCoordinator, type ConfigInput, type CoordinatorEvent, type MultiAgentCoordinator } from '../src/index.js';
import type { TaskDistribution } from '../src/distribution/types.js';
import type { CoordinationResult, SubtaskReport } from '../src/execution/types.js';
import type { CoordinationStrategyInput, SynchronizationPoint } from '../src/schemas/strategy.js';
import type { DistributedTaskInput, SubTaskInput } from '../src/schemas/task.js';
import { ok } from './helpers.js';
import { waitUntil } from './sandbox-helpers.js';

export const STEPS_PLUGIN = path.join(import.meta.dirname, 'fixtures/plugins/steps.mjs');
/** A strategy plugin whose scheduler never picks anything. */
export const STALLING_STRATEGY = path.join(import.meta.dirname, 'fixtures/plugins/stalling-strategy.mjs');

/** One step of the `steps` fixture plugin (see its header). */
export type Step = { readonly do: string; readonly attempt?: number } & Readonly<Record<string, unknown>>;

/** What the `steps` plugin returns for each expected output. */
export interface StepsOutput {
  readonly subtask: string;
  readonly attempt: number;
  readonly agentId: string;
  readonly log: readonly Readonly<Record<string, unknown>>[];
}

/** A subtask run by the `steps` plugin, with one expected output `result`. */
export function sub(id: string, steps: readonly Step[], extra: Partial<SubTaskInput> = {}): SubTaskInput {
  return {
    id,
    agent: 'steps',
    inputs: [{ name: 'steps', value: steps }],
    expectedOutputs: [{ name: 'result' }],
    executionConstraints: { maxMemory: 128 },
    ...extra,
  };
}

/** A task of the given subtasks; `after` maps a subtask to the subtasks it waits for. */
export function task(id: string, subtasks: readonly SubTaskInput[], after: Readonly<Record<string, readonly string[]>> = {}, extra: Partial<DistributedTaskInput> = {}): DistributedTaskInput {
  return {
    id,
    complexity: 'moderate',
    subtasks: [...subtasks],
    dependencies: Object.entries(after).map(([dependentTask, dependsOn]) => ({ dependentTask, dependsOn: [...dependsOn] })),
    ...extra,
  };
}

export function strategy(type: CoordinationStrategyInput['type'], extra: Partial<CoordinationStrategyInput> = {}): CoordinationStrategyInput {
  return { type, maxConcurrentAgents: 2, failureHandling: 'graceful-degradation', synchronizationPoints: [], communicationProtocol: 'direct', ...extra };
}

/** A synchronization point with the schema's defaults filled in. */
export function point(id: string, type: SynchronizationPoint['type'], extra: Partial<SynchronizationPoint> = {}): SynchronizationPoint {
  return { id, type, description: '', participatingAgents: ['*'], condition: { type: 'all-complete', parameters: {} }, onTimeout: 'fail', ...extra };
}

/** Pids of live processes whose working directory is under `root` (every agent's cwd is its workspace). */
export function processesUnder(root: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`).startsWith(`${root}/`)) pids.push(Number(name));
    } catch {
      // gone, or a zombie: not alive
    }
  }
  return pids;
}

export interface LiveCoordinator {
  readonly coordinator: MultiAgentCoordinator;
  /** Every coordinator event since creation, in order. */
  readonly events: CoordinatorEvent[];
  /** The workspace root: every agent process of this coordinator works under it. */
  readonly root: string;
  /** distributeTask (must succeed). */
  plan(task: DistributedTaskInput, strategy: CoordinationStrategyInput): Promise<TaskDistribution>;
  /** executeDistributedTask (must succeed: a failed run is a result with success false); its events are all in `events` when it returns. */
  execute(distribution: TaskDistribution): Promise<CoordinationResult>;
  /** plan + execute. */
  run(task: DistributedTaskInput, strategy: CoordinationStrategyInput): Promise<CoordinationResult>;
  /** Closes the coordinator; resolves true when no agent process is left. */
  close(): Promise<boolean>;
}

/**
 * A coordinator with the `steps` plugin, logging silent, no warm pool, a fresh workspace root and
 * fast usage samples; `config` is merged over that.
 */
export async function liveCoordinator(config: ConfigInput = {}): Promise<LiveCoordinator> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'qicoord-live-')));
  const coordinator = ok(
    await createCoordinator({
      cwd: root,
      config: {
        plugins: [STEPS_PLUGIN],
        logging: { level: 'silent' },
        pool: { enabled: false },
        monitor: { pollIntervalMs: 50 },
        ...config,
        sandbox: { workspaceRoot: root, ...config.sandbox },
      },
    }),
  );
  const events: CoordinatorEvent[] = [];
  void (async () => {
    for await (const event of coordinator.events()) events.push(event);
  })();
  const plan = async (t: DistributedTaskInput, s: CoordinationStrategyInput): Promise<TaskDistribution> => ok(await coordinator.distributeTask(t, s));
  const execute = async (distribution: TaskDistribution): Promise<CoordinationResult> => {
    const result = ok(await coordinator.executeDistributedTask(distribution));
    await waitUntil(() => events.some((e) => e.type === 'run-end' && e.coordinationId === result.coordinationId));
    return result;
  };
  return {
    coordinator,
    events,
    root,
    plan,
    execute,
    run: async (t, s) => execute(await plan(t, s)),
    close: async () => {
      await coordinator.close();
      return waitUntil(() => processesUnder(root).length === 0);
    },
  };
}

/** A subtask's report in a result. */
export function report(result: CoordinationResult, id: string): SubtaskReport {
  const found = result.aggregatedResult.subtasks.find((s) => s.id === id);
  if (found === undefined) throw new Error(`no subtask '${id}' in the result`);
  return found;
}

/** A subtask's real run interval, ms since the epoch. */
export function interval(result: CoordinationResult, id: string): { start: number; end: number } {
  const r = report(result, id);
  if (r.startedAt === null || r.endedAt === null) throw new Error(`subtask '${id}' never ran`);
  return { start: Date.parse(r.startedAt), end: Date.parse(r.endedAt) };
}

/** The `result` output the `steps` plugin returned for a subtask. */
export function output(result: CoordinationResult, id: string): StepsOutput {
  const outputs = result.aggregatedResult.outputs[id];
  if (outputs === undefined) throw new Error(`subtask '${id}' has no outputs`);
  return outputs['result'] as StepsOutput;
}

/** The most subtasks whose intervals overlap at one instant (touching ends do not overlap). */
export function maxOverlap(intervals: readonly { start: number; end: number }[]): number {
  const edges = intervals.flatMap((i) => [
    { at: i.start, delta: 1 },
    { at: i.end, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let live = 0;
  let most = 0;
  for (const e of edges) {
    live += e.delta;
    most = Math.max(most, live);
  }
  return most;
}

/** Events of one type, narrowed. */
export function eventsOf<T extends CoordinatorEvent['type']>(events: readonly CoordinatorEvent[], type: T): Extract<CoordinatorEvent, { type: T }>[] {
  return events.filter((e): e is Extract<CoordinatorEvent, { type: T }> => e.type === type);
}

/** Index of the first event matching `match` (-1 if none). */
export function indexOf(events: readonly CoordinatorEvent[], match: (e: CoordinatorEvent) => boolean): number {
  return events.findIndex(match);
}
