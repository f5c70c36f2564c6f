/**
 * A coordinator with the bench's fixture plugins registered, task builders, and a run timed from
 * the coordinator's event stream (performance.now() when each event is received).
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, fixture, ok } from './env.mjs';

export const FIXTURE_PLUGINS = ['echo.mjs', 'burn.mjs', 'sync.mjs', 'hold.mjs'].map(fixture);

/** createCoordinator with the fixture plugins (probed in sandboxed children, as a user's would be). */
export async function benchCoordinator(overrides = {}) {
  const coordinator = ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: FIXTURE_PLUGINS, ...overrides }) }), 'createCoordinator');
  const registry = ok(await coordinator.plugins(), 'plugins');
  if (registry.problems.length > 0) throw new Error(`fixture plugins failed to load: ${registry.problems.map((p) => `${p.path}: ${p.error.message}`).join('; ')}`);
  return coordinator;
}

/**
 * A task of `n` independent subtasks on agent plugin `agent`; `inputs(i)` gives subtask i's
 * literal inputs. `estimatedDuration` feeds the strategies' plans.
 */
export function independentTask(id, n, agent, inputs = () => ({}), estimatedDuration = 100) {
  return {
    id,
    subtasks: Array.from({ length: n }, (_, i) => ({
      id: `s${i}`,
      agent,
      inputs: Object.entries(inputs(i)).map(([name, value]) => ({ name, value })),
      expectedOutputs: [{ name: `o${i}` }],
      estimatedDuration,
    })),
  };
}

/**
 * A chain of `n` subtasks on agent plugin `agent`, each taking its predecessor's output as its
 * input (the data dependency orders them): one subtask is ready at a time, so consecutive ends
 * are round trips (nothing can be sent ahead).
 */
export function chainTask(id, n, agent = 'bench-echo') {
  return {
    id,
    subtasks: Array.from({ length: n }, (_, i) => ({
      id: `c${i}`,
      agent,
      inputs: i === 0 ? [{ name: 'value', value: 0 }] : [{ name: `o${i - 1}` }],
      expectedOutputs: [{ name: `o${i}` }],
      estimatedDuration: 100,
    })),
  };
}

export function strategy(type, maxConcurrentAgents, extra = {}) {
  return { type, maxConcurrentAgents, failureHandling: 'fail-fast', ...extra };
}

/**
 * Distributes (untimed) and executes (timed) a task; `onFirstStart` runs when the first subtask
 * starts (its agents are up). Returns the wall time of
 * executeDistributedTask, the run's own executionTime, and the receive times of its
 * subtask-start / subtask-end events.
 */
export async function timedRun(coordinator, task, strat, onFirstStart = () => undefined) {
  const plan = ok(await coordinator.distributeTask(task, strat), 'distributeTask');
  const starts = [];
  const ends = [];
  const events = coordinator.events();
  const listening = (async () => {
    for await (const ev of events) {
      if (ev.type === 'subtask-start' && ev.coordinationId === plan.distributionId) {
        if (starts.length === 0) onFirstStart();
        starts.push(performance.now());
      }
      else if (ev.type === 'subtask-end' && ev.coordinationId === plan.distributionId) ends.push(performance.now());
      else if (ev.type === 'run-end' && ev.coordinationId === plan.distributionId) break;
    }
  })();
  const t0 = performance.now();
  const result = ok(await coordinator.executeDistributedTask(plan), 'executeDistributedTask');
  const wallMs = performance.now() - t0;
  await listening;
  if (!result.success) throw new Error(`bench run ${task.id} failed: ${result.error?.code} ${result.error?.message}`);
  return { wallMs, executionTime: result.executionTime, starts, ends, result, t0 };
}
