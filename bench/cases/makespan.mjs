/**
 * 4. Makespan of 16 × 100 ms and 64 × 10 ms CPU-bound subtasks on 2 agents, per strategy, vs.
 *    the ideal (total work / 2; total work for sequential). Measured as a user sees it: the wall
 *    time of executeDistributedTask, agent start-up and shutdown included, no warm pool. The
 *    `.warmPool` variants start each run with 2 ready agents of the run's profile in the warm
 *    pool (prewarmed before it, untimed): what a host that keeps a pool warm gets.
 *    `makespan.16x100ms.bareFork` is the floor under them: the same work in 2 bare children
 *    started with the agents' wrappers, flags and environment, no qicoord at all (fork to exit).
 */
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { agentSpec, benchConfig, fixture, forkLike, likeForLike, ok } from '../lib/env.mjs';
import { exited } from '../lib/proc.mjs';

/**
 * The floor of a 2-agent makespan "agent starts included": 2 bare children, each started with
 * the agents' launch (sandbox wrappers, node flags, env) and burning half the work, timed from
 * their fork to both exits. Nothing coordinates them, so nothing qicoord does is in it.
 */
async function bareMakespans({ count, ms, reps }) {
  const config = benchConfig();
  const script = fixture('bare-burn.cjs');
  const launch = await likeForLike(config, agentSpec(config, 'burn.mjs'), script);
  const once = async () => {
    const started = performance.now();
    const children = [0, 1].map(() => forkLike(launch, script, { args: [String(count / 2), String(ms)] }));
    await Promise.all(children.map((child) => exited(child)));
    return performance.now() - started;
  };
  await once();
  const walls = [];
  for (let r = 0; r < reps; r++) walls.push(await once());
  return walls;
}

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
  progress('makespan.16x100ms.bareFork');
  figures.add('makespan.16x100ms.bareFork', 'ms', await bareMakespans({ count: 16, ms: 100, reps: reps(7, 2) }), {
    ideal: 800,
    note: "the floor: 2 bare children started with the agents' wrappers, flags and env, each burning 8 × 100 ms, fork to exit (no qicoord); ideal = 800 ms",
  });
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
