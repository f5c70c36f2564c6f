import { expect, it } from 'vitest';
import { liveCoordinator, strategy, sub, task, interval, eventsOf } from './live-helpers.js';

it('debug adaptive', async () => {
  const live = await liveCoordinator({ resources: { maxTotalMemory: 600 } });
  const subtasks = Array.from({ length: 8 }, (_, i) => sub(`m${i}`, [{ do: 'hold', mb: 100 }, { do: 'sleep', ms: 400 }]));
  const result = await live.run(task('pressure', subtasks), strategy('adaptive', { maxConcurrentAgents: 4 }));
  const t0 = result.aggregatedResult.subtasks.reduce((m, s) => Math.min(m, Date.parse(s.startedAt!)), Infinity);
  for (const e of live.events) {
    if (e.type === 'concurrency') console.log(e.at - t0, 'conc', e.value, e.reason);
    if (e.type === 'subtask-start' || e.type === 'subtask-end') console.log(e.at - t0, e.type, e.subtaskId);
  }
  console.log(result.success, result.aggregatedResult.subtasks.map(s => s.status + ' ' + (s.error?.code ?? '')));
  expect(await live.close()).toBe(true);
});
