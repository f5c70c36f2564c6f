/**
 * `hybrid`: DAG-aware list scheduling. A subtask starts as soon as its inputs exist, up to
 * `maxConcurrentAgents` at once; the critical path goes first.
 *
 * - plan: HEFT-style list scheduling over the estimated durations, onto
 *   min(maxConcurrentAgents, widest DAG level) lanes per profile: the ready subtask with the
 *   largest bottom level goes onto the lane of its profile that can start it earliest.
 * - scheduler: concurrency = the cap; next = the ready subtask with the largest bottom level,
 *   ties by rank (declared as its `order`, so the engine keeps ready subtasks in a heap).
 */
import { defineStrategy, type PlanInput, type Scheduler } from 'qicoord/plugin';
import { capOf, criticalPathFirst, listScheduleLanes, pickBest } from './lanes.js';

/** The built-in `hybrid` strategy. */
export default defineStrategy({
  name: 'hybrid',
  kind: 'strategy',
  description: 'DAG-aware list scheduling: a subtask starts as soon as its inputs exist, up to maxConcurrentAgents at once, critical path (largest bottom level) first.',
  plan: listScheduleLanes,
  createScheduler: (input: PlanInput): Scheduler => {
    const cap = capOf(input.maxConcurrentAgents);
    return {
      concurrency: () => cap,
      pick: (ready) => pickBest(ready, criticalPathFirst),
      order: { before: criticalPathFirst },
      explain: () => `hybrid: critical path first, up to ${cap} at once`,
    };
  },
});
