// Ships the part of zod the coordinator uses as one tree-shaken file in dist/vendor/zod.js, and
// points every runtime `from 'zod'` in dist/ at it (the .d.ts files keep `zod`, for the types).
// Why: `import 'zod'` evaluates every module of the package, all ~50 message locales included
// (`export * as locales`), which costs a coordinator ~11 MB of RSS and ~100 module loads at
// start; the bundle of the factories qicoord calls weighs ~3.5 MB (the English messages
// included). The factories are listed here; a build that uses one not listed fails below.
// Idempotent: runs after every build.
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

/** The `z.*` factories qicoord's code calls at run time. */
const USED = ['array', 'boolean', 'custom', 'discriminatedUnion', 'enum', 'int', 'literal', 'number', 'object', 'record', 'strictObject', 'string', 'union', 'unknown'];
/** `z.*` names that only appear in types (erased from the JavaScript). */
const TYPE_ONLY = new Set(['ZodType', 'core', 'output', 'input', 'infer']);

const out = 'dist/vendor/zod.js';
const entry = `import { ${USED.map((n) => `${n} as _${n}`).join(', ')} } from 'zod';\nexport const z = { ${USED.map((n) => `${n}: _${n}`).join(', ')} };\n`;
const { version } = JSON.parse(readFileSync('node_modules/zod/package.json', 'utf8'));
await build({
  stdin: { contents: entry, resolveDir: process.cwd(), loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile: out,
  legalComments: 'inline',
  banner: { js: `// zod ${version} (MIT, https://github.com/colinhacks/zod; licence in zod.LICENSE beside this file), bundled by scripts/vendor-zod.mjs.` },
  logLevel: 'warning',
});
// The MIT licence travels with the copy.
copyFileSync('node_modules/zod/LICENSE', 'dist/vendor/zod.LICENSE');

const target = path.resolve(out);
const specifier = /(from\s+)(['"])zod\2/g;
const missing = new Set();
function rewrite(file) {
  const text = readFileSync(file, 'utf8');
  if (!/from\s+['"]zod['"]/.test(text)) return;
  for (const [, name] of text.matchAll(/\bz\.([A-Za-z$_][\w$]*)/g)) if (!USED.includes(name) && !TYPE_ONLY.has(name)) missing.add(`${name} (${file})`);
  let rel = path.relative(path.dirname(path.resolve(file)), target).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  writeFileSync(file, text.replace(specifier, (_m, lead, q) => `${lead}${q}${rel}${q}`));
}
function walk(dir) {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) walk(p);
    else if (d.name.endsWith('.js') && p !== out) rewrite(p);
  }
}
walk('dist');
if (missing.size > 0) {
  console.error(`vendor-zod: dist/ calls zod factories not in scripts/vendor-zod.mjs USED: ${[...missing].join(', ')}`);
  process.exit(1);
}
