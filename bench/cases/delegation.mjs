/**
 * What ctx.delegate costs: a parent delegating one trivial child at a time, each call timed in the
 * agent (request → child scheduled, run on a warm agent, outputs back), against the same run's
 * round trip of a top-level subtask on a warm agent (consecutive subtask ends of a sequential
 * chain of trivial subtasks). Interleaved rounds.
 *
 * The floor beside it: a delegation is four messages between processes (parent agent →
 * coordinator → child's agent → coordinator → parent agent) where a top-level subtask is two.
 * `fork.relay.rtt` times the same four hops between bare children started with the agents'
 * launch, the bench relaying; `fork.direct.rtt` the two hops of one bare round trip, interleaved;
 * all three pinned to one CPU, so every hop costs the same.
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, agentSpec, benchConfig, configInput, fixture, forkLike, likeForLike, ok } from '../lib/env.mjs';
import { chainTask, strategy, timedRun } from '../lib/coordinator.mjs';
import { firstMessage, killGroup } from '../lib/proc.mjs';
import { ALL_CPUS, canPin, pin } from '../lib/pin.mjs';
import { findNodePid } from '../../dist/src/subagent/process.js';

const PLUGIN = fixture('delegate.mjs');


/** Bare children with the agents' launch: `asker` sends calls the bench relays to `echo` and back. */
async function relayFloor(n, rounds) {
  const config = benchConfig();
  const launch = await likeForLike(config, agentSpec(config, 'echo.mjs'), fixture('bare-echo.cjs'));
  const asker = forkLike(launch, fixture('bare-relay.cjs'));
  const echo = forkLike(launch, fixture('bare-echo.cjs'));
  await firstMessage(asker);
  // All three on one CPU: every hop then costs the same CPU work (no cross-CPU wake-up, whose
  // cost depends on where the scheduler put each process), so the ratio is the hop count's.
  const pinned = canPin();
  if (pinned) for (const pid of [process.pid, findNodePid(asker.pid), findNodePid(echo.pid)]) pin(pid, 0);
  const direct = async () => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await new Promise((resolve) => {
        echo.once('message', resolve);
        echo.send({ value: i });
      });
      out.push((performance.now() - t0) * 1000);
    }
    return out;
  };
  const relayed = async () => {
    const relay = (m) => {
      if (m.ask === undefined) return;
      echo.once('message', (answer) => asker.send(answer));
      echo.send(m);
    };
    asker.on('message', relay);
    const done = new Promise((resolve) => {
      const onDone = (m) => {
        if (m.us === undefined) return;
        asker.off('message', onDone);
        resolve(m.us);
      };
      asker.on('message', onDone);
    });
    asker.send({ rounds: n });
    const us = await done;
    asker.off('message', relay);
    return us;
  };
  await direct();
  await relayed();
  const out = { direct: [], relayed: [] };
  for (let r = 0; r < rounds; r++) {
    out.direct.push(...(await direct()));
    out.relayed.push(...(await relayed()));
  }
  await Promise.all([killGroup(asker), killGroup(echo)]);
  if (pinned) pin(process.pid, ALL_CPUS);
  return { ...out, where: pinned ? 'bench and both children pinned to one CPU' : 'unpinned (taskset or a second CPU is missing)' };
}

function parent(id, rounds) {
  return { id, subtasks: [{ id: 'p', agent: 'bench-delegate', inputs: [{ name: 'rounds', value: rounds }], expectedOutputs: [{ name: 'us' }], estimatedDuration: 100_000 }] };
}

export async function run({ figures, progress, reps }) {
  const coordinator = ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: [PLUGIN], delegation: { maxDepth: 1, maxSubtasks: 100_000 } }), journal: false }), 'createCoordinator');
  const n = reps(300, 60);
  const top = [];
  const delegated = [];
  progress(`delegation round trip vs a top-level subtask's, ${n} each, interleaved`);
  for (let r = 0; r < reps(4, 2); r++) {
    const { ends } = await timedRun(coordinator, chainTask(`chain-${r}`, n, 'bench-delegate'), strategy('sequential', 1));
    // Warm: from the second end on (the first includes the agent's start).
    for (let i = 2; i < ends.length; i++) top.push((ends[i] - ends[i - 1]) * 1000);
    const { result } = await timedRun(coordinator, parent(`deleg-${r}`, n), strategy('sequential', 1));
    // From the second call on: the first starts the children's agent.
    delegated.push(...result.aggregatedResult.outputs['p'].us.slice(1));
  }
  figures.add('dispatch.topLevel.warm', 'µs', top, { note: 'round trip of a trivial top-level subtask on a warm agent (consecutive ends of a sequential chain)' });
  figures.add('delegation.rtt', 'µs', delegated, {
    baseline: 'dispatch.topLevel.warm',
    goal: { op: '<=', value: 1.5, of: 'ratio' },
    note: 'ctx.delegate of one trivial child on a warm agent, timed in the parent agent (validated, scheduled, run, outputs back)',
  });
  await coordinator.close();

  progress('the floor: four hops between bare children (the bench relaying) vs two');
  const floor = await relayFloor(n, reps(4, 2));
  figures.add('fork.direct.rtt', 'µs', floor.direct, { note: `bare child with the agents' launch echoing a message, one in flight (two hops), timed in the bench; ${floor.where}` });
  figures.add('fork.relay.rtt', 'µs', floor.relayed, {
    baseline: 'fork.direct.rtt',
    note: `a bare child's call relayed by the bench to another bare child and back (four hops, as a delegation), timed in the calling child: the hop count's floor under delegation.rtt / dispatch.topLevel.warm; ${floor.where}`,
  });
}
