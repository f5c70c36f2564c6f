/**
 * 6. Resource allocate + release; a barrier across 2, 4 and 8 agents; an aggregation across 8.
 *    Sync points run through real agents calling ctx.sync (fixture bench-sync) in a coordinator
 *    run; the in-process SyncHub alone is measured too, to separate the hub from the IPC.
 */
import { ResourceManager } from '../../dist/src/resources/index.js';
import { SyncHub } from '../../dist/src/sync/index.js';
import { benchCoordinator, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { benchConfig, ok, scratchDir } from '../lib/env.mjs';
import { median } from '../lib/stats.mjs';

const REQUIREMENTS = [{ type: 'memory', amount: 64, unit: 'MB' }];
const CONSTRAINTS = { maxTotalMemory: 1024, maxConcurrentAllocations: 16, allowSharedResources: true };

function point(id, type, reducer) {
  return {
    id,
    type,
    participatingAgents: ['*'],
    condition: { type: 'all-complete', parameters: reducer === undefined ? {} : { reducer } },
    timeoutMs: 60_000,
    onTimeout: 'fail',
  };
}

/**
 * `agents` sync participants pass `rounds` points of `type` one after the other (after one
 * aligning barrier). Each agent reports when it was released from each point (its own clock);
 * a round's time is, averaged over agents, the time between its releases from two consecutive
 * points: one arrival, the hub's decision and one release, with every participant in.
 */
async function syncRounds(coordinator, { agents, rounds, type, reducer, id }) {
  const points = ['align', ...Array.from({ length: rounds }, (_, k) => `${type}-${k}`)];
  const sync = points.map((p, k) => (k === 0 ? point(p, 'barrier') : point(p, type, reducer)));
  const task = independentTask(id, agents, 'bench-sync', (i) => ({ points, value: i + 1 }));
  const run = await timedRun(coordinator, task, strategy('parallel', agents, { synchronizationPoints: sync }));
  const released = Object.values(run.result.aggregatedResult.outputs).map((o) => Object.values(o)[0]);
  const out = [];
  for (let k = 2; k < points.length; k++) {
    out.push(released.reduce((s, times) => s + (times[k] - times[k - 1]), 0) / released.length);
  }
  return out;
}

/** In-process SyncHub: `agents` arrivals at each of `rounds` points, arrive → all released. */
async function hubRounds(agents, rounds, type, reducer) {
  const ids = Array.from({ length: agents }, (_, i) => `s${i}`);
  const points = Array.from({ length: rounds }, (_, k) => point(`p${k}`, type, reducer));
  const hub = new SyncHub({ points, allSubtasks: ids, failureHandling: 'fail-fast', checkpointDir: scratchDir('hub-') });
  const out = [];
  for (let k = 0; k < rounds; k++) {
    const t0 = performance.now();
    const results = await Promise.all(ids.map((s, i) => hub.arrive(`p${k}`, s, `agent-${i}`, i + 1)));
    out.push((performance.now() - t0) * 1000);
    for (const r of results) ok(r, 'hub arrive');
  }
  hub.close();
  return out;
}

export async function run({ figures, progress, reps }) {
  // Barrier rounds are in ms, the bare round trip (measured by the dispatch group) in µs.
  const rtt = figures.get('fork.ipc.rtt');
  const rttRatio = (samples) => (rtt === undefined ? {} : { baseline: 'fork.ipc.rtt', ratio: median(samples) / (rtt.median / 1000) });

  progress('resources.allocRelease');
  const config = benchConfig();
  const manager = new ResourceManager(config.resources);
  const coordinator = await benchCoordinator();
  const direct = [];
  const facade = [];
  // Interleaved: one pair on the manager, one through the coordinator facade.
  for (let i = -500; i < reps(5000, 1000); i++) {
    let t0 = performance.now();
    const allocation = ok(manager.allocate(REQUIREMENTS, CONSTRAINTS, 'bench'), 'allocate');
    ok(manager.release(allocation), 'release');
    const m = performance.now() - t0;
    t0 = performance.now();
    const viaFacade = ok(await coordinator.allocateResources(REQUIREMENTS, CONSTRAINTS), 'allocateResources');
    ok(await coordinator.releaseResources(viaFacade), 'releaseResources');
    const f = performance.now() - t0;
    if (i >= 0) {
      direct.push(m);
      facade.push(f);
    }
  }
  manager.close();
  figures.add('resources.allocRelease.manager', 'ms', direct, { note: 'ResourceManager.allocate (zod-validated request, 64 MB) + release, in process' });
  figures.add('resources.allocRelease', 'ms', facade, {
    baseline: 'resources.allocRelease.manager',
    goal: { op: '<', value: 0.1 },
    note: 'coordinator.allocateResources + releaseResources (the spec API: async facade over the ResourceManager)',
  });

  const rounds = reps(40, 12);
  for (const agents of [2, 4, 8]) {
    progress(`barrier.${agents}`);
    const hub = await hubRounds(agents, reps(400, 100), 'barrier');
    figures.add(`barrier.hub.${agents}`, 'µs', hub, { note: `in-process SyncHub: ${agents} arrivals at a barrier → all released (no IPC)` });
    await syncRounds(coordinator, { agents, rounds: 5, type: 'barrier', id: `barrier-warm-${agents}` });
    const times = await syncRounds(coordinator, { agents, rounds, type: 'barrier', id: `barrier-${agents}` });
    figures.add(`barrier.${agents}`, 'ms', times, {
      ...rttRatio(times),
      ...(agents === 8 ? { goal: { op: '<', value: 5 } } : {}),
      note: `${agents} agents calling ctx.sync on consecutive barriers: per round, release → next release (one IPC round trip per agent + the hub), mean over agents; ratio to one bare fork IPC round trip`,
    });
  }
  progress('aggregation.8');
  const hubAgg = await hubRounds(8, reps(400, 100), 'aggregation', 'sum');
  figures.add('aggregation.hub.8', 'µs', hubAgg, { note: 'in-process SyncHub: 8 arrivals at a sum aggregation → all released with the sum (no IPC)' });
  await syncRounds(coordinator, { agents: 8, rounds: 5, type: 'aggregation', reducer: 'sum', id: 'agg-warm' });
  const agg = await syncRounds(coordinator, { agents: 8, rounds, type: 'aggregation', reducer: 'sum', id: 'agg-8' });
  figures.add('aggregation.8', 'ms', agg, {
    ...rttRatio(agg),
    note: '8 agents calling ctx.sync(point, i) on consecutive sum aggregations: per round, release → next release, mean over agents',
  });
  await coordinator.close();
}
