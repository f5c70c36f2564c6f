/**
 * What durable runs cost: the same trivial-subtask runs with the journal on and off
 * (interleaved), as throughput on 2 agents, and a chain where every success is synced to disk
 * before its dependent starts.
 */
import { createCoordinator } from '../../dist/src/index.js';
import { BENCH_DIR, configInput, ok, scratchDir } from '../lib/env.mjs';
import { FIXTURE_PLUGINS, independentTask, strategy, timedRun } from '../lib/coordinator.mjs';

async function coordinatorWith(journal) {
  return ok(await createCoordinator({ cwd: BENCH_DIR, agentId: 'bench', config: configInput({ plugins: FIXTURE_PLUGINS }), journal }), 'createCoordinator');
}

function chainTask(id, n) {
  return {
    id,
    subtasks: Array.from({ length: n }, (_, i) => ({
      id: `c${i}`,
      agent: 'bench-echo',
      inputs: i === 0 ? [{ name: 'value', value: 0 }] : [{ name: `o${i - 1}` }],
      expectedOutputs: [{ name: `o${i}` }],
      estimatedDuration: 100,
    })),
  };
}

export async function run({ figures, progress, reps }) {
  const on = await coordinatorWith({ dir: scratchDir('journal-') });
  const off = await coordinatorWith(false);
  const n = reps(1000, 300);
  progress('throughput with the journal on and off (interleaved)');
  for (const c of [on, off]) await timedRun(c, independentTask('j-warm', 200, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
  const rates = { on: [], off: [] };
  for (let r = 0; r < reps(5, 2); r++) {
    for (const [key, c] of [['on', on], ['off', off]]) {
      const { starts, ends } = await timedRun(c, independentTask(`j-${key}-${r}`, n, 'bench-echo', (i) => ({ value: i })), strategy('parallel', 2));
      rates[key].push(n / ((ends[ends.length - 1] - starts[0]) / 1000));
    }
  }
  figures.add('journal.off.throughput', 'subtasks/s', rates.off, { note: `parallel, ${n} independent trivial subtasks on 2 agents, no journal` });
  figures.add('journal.on.throughput', 'subtasks/s', rates.on, {
    baseline: 'journal.off.throughput',
    goal: { op: '>=', value: 0.95, of: 'ratio' },
    note: 'the same with every event journaled (checksummed JSONL, one write per event-loop turn)',
  });
  progress('a chain: every success synced before its dependent starts');
  const len = reps(200, 60);
  const chain = { on: [], off: [] };
  for (let r = 0; r < reps(3, 1); r++) {
    for (const [key, c] of [['on', on], ['off', off]]) {
      const { wallMs } = await timedRun(c, chainTask(`jc-${key}-${r}`, len), strategy('sequential', 1));
      chain[key].push((wallMs * 1000) / len);
    }
  }
  figures.add('journal.off.chain', 'µs', chain.off, { note: `sequential chain of ${len} trivial subtasks, per subtask, no journal` });
  figures.add('journal.on.chain', 'µs', chain.on, { baseline: 'journal.off.chain', note: 'the same journaled: each success fdatasync-ed before its dependent starts' });
  await Promise.all([on.close(), off.close()]);
}
