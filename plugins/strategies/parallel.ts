/**
 * `parallel`: level by level (waves). A subtask of DAG level L starts only once every subtask of
 * a lower level has finished (`state.lowestOpenLevel`), with up to `maxConcurrentAgents` at once.
 *
 * - plan: per profile, up to maxConcurrentAgents lanes; subtasks are assigned level by level,
 *   longest estimate first within a level, each to the lane with the least estimated load.
 * - scheduler: concurrency = the cap; next = among ready subtasks of the lowest open level, the
 *   longest estimate (LPT), ties by rank; none if no ready subtask is on that level.
 */
import { defineStrategy, type PlanInput, type ReadySubtask, type Scheduler } from 'qicoord/plugin';
import { capOf, levelLanes, pickBest } from './lanes.js';

function longerFirst(a: ReadySubtask, b: ReadySubtask): boolean {
  return a.estimatedDuration > b.estimatedDuration || (a.estimatedDuration === b.estimatedDuration && a.rank < b.rank);
}

function lowerLevelFirst(a: ReadySubtask, b: ReadySubtask): boolean {
  return a.level < b.level || (a.level === b.level && longerFirst(a, b));
}

/** The built-in `parallel` strategy. */
export default defineStrategy({
  name: 'parallel',
  kind: 'strategy',
  description: 'Level by level (waves): a level starts when every lower level has finished, up to maxConcurrentAgents at once, longest subtask first.',
  plan: levelLanes,
  createScheduler: (input: PlanInput): Scheduler => {
    const cap = capOf(input.maxConcurrentAgents);
    return {
      concurrency: () => cap,
      pick: (ready, state) => pickBest(ready, longerFirst, (r) => r.level === state.lowestOpenLevel),
      // The same choice in O(log n): no ready subtask is below the lowest open level, so the
      // first by (level, longer first) is on that level exactly when any ready subtask is.
      order: { before: lowerLevelFirst, startable: (first, state) => first.level === state.lowestOpenLevel },
      explain: () => `parallel: level by level, up to ${cap} at once`,
    };
  },
});
