// Ships @qi/base inside dist/: the workspace package is not in any registry, and npm does not
// bundle a workspace link (bundleDependencies packs 0 files of it). So its built files are
// copied to dist/vendor/qi-base and every `@qi/base` specifier in dist/ (ESM, CommonJS and
// .d.ts) is rewritten to a relative path. Idempotent: runs after every build.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const from = 'packages/qi-base/dist';
const to = 'dist/vendor/qi-base';
mkdirSync(to, { recursive: true });
for (const f of readdirSync(from)) if (/\.(js|d\.ts)$/.test(f)) copyFileSync(path.join(from, f), path.join(to, f));
writeFileSync(path.join(to, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);

const entry = path.resolve(to, 'index.js');
const specifier = /(from\s+|require\(\s*|import\(\s*)(['"])@qi\/base\2/g;

function rewrite(file) {
  const text = readFileSync(file, 'utf8');
  if (!text.includes('@qi/base')) return;
  let rel = path.relative(path.dirname(path.resolve(file)), entry).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  const next = text.replace(specifier, (_m, lead, q) => `${lead}${q}${rel}${q}`);
  if (next !== text) writeFileSync(file, next);
}

function walk(dir) {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) {
      if (p !== to) walk(p);
    } else if (/\.(js|d\.ts)$/.test(d.name)) rewrite(p);
  }
}
walk('dist');
