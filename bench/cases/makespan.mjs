/**
 * 4. Makespan of 16 × 100 ms and 64 × 10 ms CPU-bound subtasks on 2 agents, per strategy, vs.
 *    the ideal (total work / 2; total work for sequential). Measured as a user sees it: the wall
 *    time of executeDistributedTask, agent start-up and shutdown included, no warm pool. The
 *    `.warmPool` variants start each run with 2 ready agents of the run's profile in the warm
 *    pool (prewarmed before it, untimed): what a host that keeps a pool warm gets.
 */
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';

/** Prewarms the coordinator's pool with `count` ready agents of the task's profile (untimed). */
async function poolReady(coordinator, task, count) {
  const { factory } = ok(await coordinator.init(), 'init');
  const plan = ok(await coordinator.distributeTask(task, strategy('parallel', 2)), 'distributeTask');
  const spec = Object.values(plan.specifications)[0];
  if (factory.warmCount < count) ok(await factory.prewarm(spec, count - factory.warmCount), 'prewarm');
}

async function makespans(coordinator, { count, ms, type, reps, pooled }) {
  const task = (id) => independentTask(id, count, 'bench-burn', () => ({ ms }), ms);
  await timedRun(coordinator, task(`warm-${type}-${count}`), strategy(type, 2));
  const walls = [];
  const own = [];
  for (let r = 0; r < reps; r++) {
    if (pooled) await poolReady(coordinator, task(`pool-${type}-${count}-${r}`), 2);
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
