/**
 * Summarizes a V8 .cpuprofile: self time by function and by file (top N), so a profile can be
 * read without DevTools. `node bench/profile/cpuprofile-top.mjs FILE.cpuprofile [N]`.
 */
import { readFileSync } from 'node:fs';

const [file, topArg = '25'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const top = Number(topArg);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFunction = new Map();
const byFile = new Map();
for (const [id, us] of self) {
  const { callFrame: f } = byId.get(id);
  const where = f.url === '' ? '(native)' : f.url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, 'node_modules/').replace(/^\/work\/main\//, '');
  const fn = `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  const key = f.url === '' ? f.functionName || '(native)' : where;
  byFile.set(key, (byFile.get(key) ?? 0) + us);
}
const show = (title, map) => {
  console.log(`\n${title} (self time, ${(total / 1000).toFixed(0)} ms sampled)`);
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
};
show('by file', byFile);
show('by function', byFunction);
