/**
 * What a different sandbox bootstrap would save on a cold spawn. Bundles dist/sandbox/bootstrap.js
 * (rolldown, from vitest's toolchain in node_modules) into one CommonJS file — as is, and with the
 * plugin loaded by `require()` (Node ≥ 20.19 loads ESM synchronously that way), falling back to
 * `import()` — and times factory.spawn with each bootstrap, interleaved. The factory's bootstrap
 * path (RUNTIME.bootstrap) is swapped at run time; nothing in dist/ is changed.
 * `node bench/profile/spawn-bootstrap-variants.mjs [reps]`
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AgentProcess } from '../../dist/src/subagent/process.js';
import { RUNTIME } from '../../dist/src/subagent/package-root.js';
import { agentSpec, BENCH_DIR, benchConfig, makeFactory, ok, tempDir } from '../lib/env.mjs';
import { summarize } from '../lib/stats.mjs';

const reps = Number(process.argv[2] ?? 20);
const dir = tempDir('qicoord-bootstrap-');
const bundle = path.join(dir, 'bootstrap.cjs');
execFileSync(path.join(BENCH_DIR, '../node_modules/.bin/rolldown'), [RUNTIME.bootstrap, '--format', 'cjs', '--platform', 'node', '--file', bundle], { stdio: 'ignore' });
const IMPORT = 'mod = await import((0, node_url.pathToFileURL)(message.pluginPath).href);';
const source = readFileSync(bundle, 'utf8');
if (!source.includes(IMPORT)) throw new Error('the bundled bootstrap no longer imports the plugin the way this experiment patches');
const requiring = path.join(dir, 'bootstrap-require.cjs');
writeFileSync(
  requiring,
  source.replace(IMPORT, `try { mod = require(message.pluginPath); } catch (e) { if (e.code !== 'ERR_REQUIRE_ASYNC_MODULE' && e.code !== 'ERR_REQUIRE_ESM') throw e; ${IMPORT} }`),
);

const marks = {};
const originalSpawn = AgentProcess.spawn;
AgentProcess.spawn = function timedSpawn(plan, options) {
  marks.call = performance.now();
  const onMessage = options.handlers.onMessage;
  const handlers = {
    ...options.handlers,
    onMessage: (m) => {
      if (m.type === 'hello') marks.hello = performance.now();
      else if (m.type === 'ready') marks.ready = performance.now();
      onMessage(m);
    },
  };
  return originalSpawn.call(this, plan, { ...options, handlers });
};

const config = benchConfig();
const factory = makeFactory(config);
const spec = agentSpec(config, 'echo.mjs');
const variants = { 'ESM, as built (dist/sandbox/bootstrap.js)': RUNTIME.bootstrap, 'one CJS file, plugin by import()': bundle, 'one CJS file, plugin by require()': requiring };
const series = new Map();
const add = (name, ms) => series.set(name, [...(series.get(name) ?? []), ms]);
for (let i = -3; i < reps; i++) {
  for (const [name, file] of Object.entries(variants)) {
    RUNTIME.bootstrap = file;
    const t0 = performance.now();
    const agent = ok(await factory.spawn(spec), `spawn with ${name}`);
    const total = performance.now() - t0;
    await agent.terminate('done');
    if (i < 0) continue;
    add(`${name}: spawn (total)`, total);
    add(`${name}:   spawn → hello`, marks.hello - marks.call);
    add(`${name}:   hello → ready`, marks.ready - marks.hello);
  }
}
RUNTIME.bootstrap = variants['ESM, as built (dist/sandbox/bootstrap.js)'];
await factory.close();
const width = Math.max(...[...series.keys()].map((k) => k.length));
for (const [name, xs] of series) console.log(`${name.padEnd(width)}  median ${summarize(xs).median.toFixed(2).padStart(7)} ms`);
