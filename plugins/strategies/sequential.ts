/**
 * `sequential`: one subtask at a time, in topological order.
 *
 * - plan: the topological order cut into lanes, a new lane whenever the profile changes (one agent
 *   at a time; consecutive subtasks of the same profile share a lane).
 * - scheduler: concurrency 1; next = the ready subtask with the smallest rank (declared as its
 *   `order`, so the engine keeps ready subtasks in a heap).
 */
import { defineStrategy, type PlanInput, type ReadySubtask, type Scheduler } from 'qicoord/plugin';
import { pickBest, sequentialLanes } from './lanes.js';

function earlierRank(a: ReadySubtask, b: ReadySubtask): boolean {
  return a.rank < b.rank;
}

/** The built-in `sequential` strategy. */
export default defineStrategy({
  name: 'sequential',
  kind: 'strategy',
  description: 'One subtask at a time in topological order; a new agent lane whenever the security profile changes.',
  plan: sequentialLanes,
  createScheduler: (_input: PlanInput): Scheduler => ({
    concurrency: () => 1,
    pick: (ready) => pickBest(ready, earlierRank),
    order: { before: earlierRank },
    explain: () => 'sequential: one subtask at a time',
  }),
});
