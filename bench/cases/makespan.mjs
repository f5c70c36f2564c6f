/**
 * 4. Makespan of 16 × 100 ms and 64 × 10 ms CPU-bound subtasks on 2 agents, per strategy, vs.
 *    the ideal (total work / 2; total work for sequential). Measured as a user sees it: the wall
 *    time of executeDistributedTask, agent start-up and shutdown included, no warm pool.
 */
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';

async function makespans(coordinator, { count, ms, type, reps }) {
  const task = (id) => independentTask(id, count, 'bench-burn', () => ({ ms }), ms);
  await timedRun(coordinator, task(`warm-${type}-${count}`), strategy(type, 2));
  const walls = [];
  const own = [];
  for (let r = 0; r < reps; r++) {
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
    const f = figures.add(name, 'ms', walls, {
      ideal,
      note: `wall time of executeDistributedTask (agent start and shutdown included, pool off), ${c.count} × ${c.ms} ms burner on 2 agents; ideal = ${c.type === 'sequential' ? 'total work' : 'total work / 2'} = ${ideal} ms`,
      ...(c.count === 16 && c.type !== 'sequential' ? { goal: { op: '<=', value: 1.04, of: 'ratio' } } : {}),
    });
    record(`${name}.executionTime`, own);
  }
  await coordinator.close();
}
