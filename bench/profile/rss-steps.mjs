/**
 * What a coordinator process's memory is made of: RSS and heap after importing each dependency,
 * qicoord itself, createCoordinator, and an idle GC. `node --expose-gc bench/profile/rss-steps.mjs`
 */
const mb = (x) => (x / 1048576).toFixed(1);
const show = (label) => { const m = process.memoryUsage(); console.log(label.padEnd(34), 'rss', mb(m.rss), 'heapTotal', mb(m.heapTotal), 'heapUsed', mb(m.heapUsed), 'external', mb(m.external)); };
show('start');
await import('zod'); show('+ zod');
await import('pino'); show('+ pino');
await import('execa'); show('+ execa');
await import('cosmiconfig'); show('+ cosmiconfig');
await import('pidusage'); show('+ pidusage');
await import('tinypool'); show('+ tinypool');
await import('js-yaml'); show('+ js-yaml');
const q = await import('../../dist/src/index.js'); show('+ qicoord index');
const c = (await q.createCoordinator({ config: { logging: { level: 'silent' }, pool: { enabled: false } } })).value;
show('+ createCoordinator (plugins probed)');
global.gc?.(); show('after gc');
await c.close();
