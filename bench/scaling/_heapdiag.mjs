import v8 from 'node:v8';
import { benchCoordinator, independentTask, strategy } from '../lib/coordinator.mjs';
import { ok } from '../lib/env.mjs';
const coordinator = await benchCoordinator();
async function runs(n, from) { for (let r = from; r < from + n; r++) { const plan = ok(await coordinator.distributeTask(independentTask(`l${r}`, 2000, 'bench-echo', (i) => ({ value: i }), 100), strategy('parallel', 4)), 'd'); ok(await coordinator.executeDistributedTask(plan), 'e'); } }
await runs(3, 0); globalThis.gc(); v8.writeHeapSnapshot('/tmp/core-heap/a.heapsnapshot');
await runs(15, 3); globalThis.gc(); v8.writeHeapSnapshot('/tmp/core-heap/b.heapsnapshot');
await coordinator.close();
