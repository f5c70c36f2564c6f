/**
 * 4. Makespan of 16 × 100 ms and 64 × 10 ms CPU-bound subtasks on 2 agents, per strategy, vs.
 *    the ideal (total work / 2; total work for sequential). Measured as a user sees it: the wall
 *    time of executeDistributedTask, agent start-up and shutdown included, no warm pool. The
 *    `.warmPool` variants run with the default warm pool (pool.enabled, size 2), which a run
 *    refills for its profiles when it ends: a user's next run starts on ready agents.
 */
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';

/** Waits until the coordinator's warm pool holds `count` ready agents (it refills after a run). */
async function poolReady(coordinator, count) {
  const { factory } = ok(await coordinator.init(), 'init');
  const deadline = performance.now() + 10_000;
  while (factory.warmCount < count) {
    if (performance.now() > deadline) throw new Error(`the warm pool did not refill to ${count} agents`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function makespans(coordinator, { count, ms, type, reps, pooled }) {
  const task = (id) => independentTask(id, count, 'bench-burn', () => ({ ms }), ms);
  await timedRun(coordinator, task(`warm-${type}-${count}`), strategy(type, 2));
  const walls = [];
  const own = [];
  for (let r = 0; r < reps; r++) {
    if (pooled) await poolReady(coordinator, 2);
    const run = await timedRun(coordinator, task(`${type}-${count}x${ms}-${r}`), strategy(type, 2));
    walls.push(run.wallMs);
    own.push(run.executionTime);
  }
  return { walls, own };
}

export async function run({ figures, progress, reps, record }) {
  const coordinator = await benchCoordinator();
  const cases = [
    { count: 16, ms: 100, type: 'parallel', reps: reps(7, 2) },
    { count: 16, ms: 100, type: 'hybrid', reps: reps(7, 2) },
    { count: 16, ms: 100, type: 'adaptive', reps: reps(7, 2) },
    { count: 16, ms: 100, type: 'sequential', reps: reps(3, 1) },
    { count: 64, ms: 10, type: 'parallel', reps: reps(7, 2) },
  ];
  for (const c of cases) {
    const name = `makespan.${c.count}x${c.ms}ms.${c.type}`;
    progress(name);
    const { walls, own } = await makespans(coordinator, c);
    const ideal = c.type === 'sequential' ? c.count * c.ms : (c.count * c.ms) / 2;
    figures.add(name, 'ms', walls, {
      ideal,
      note: `wall time of executeDistributedTask (agent start and shutdown included, pool off), ${c.count} × ${c.ms} ms burner on 2 agents; ideal = ${c.type === 'sequential' ? 'total work' : 'total work / 2'} = ${ideal} ms`,
      ...(c.count === 16 && c.type !== 'sequential' ? { goal: { op: '<=', value: 1.04, of: 'ratio' } } : {}),
    });
    record(`${name}.executionTime`, own);
  }
  await coordinator.close();

  const pooled = await benchCoordinator({ pool: { enabled: true, size: 2 } });
  for (const c of [
    { count: 16, ms: 100, type: 'parallel', reps: reps(7, 2), pooled: true },
    { count: 64, ms: 10, type: 'parallel', reps: reps(7, 2), pooled: true },
  ]) {
    const name = `makespan.${c.count}x${c.ms}ms.${c.type}.warmPool`;
    progress(name);
    const { walls } = await makespans(pooled, c);
    const ideal = (c.count * c.ms) / 2;
    figures.add(name, 'ms', walls, {
      ideal,
      note: `as makespan.${c.count}x${c.ms}ms.${c.type}, with the warm pool on (size 2, refilled by the previous run): no cold start inside the run`,
    });
  }
  await pooled.close();
}
