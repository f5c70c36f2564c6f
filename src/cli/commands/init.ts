import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EXIT, type CommandResult } from '../output.js';

export const initHelp = `Usage: qicoord init [DIR]

Writes a starter .qicoordrc.yaml, an agent plugin (plugins/word-counter.mjs) and a task
(task.yaml) into DIR (default: the current directory); then run:

  qicoord run task.yaml

Existing files are never overwritten. Exit codes: 0 written, 2 a file already exists.`;

const CONFIG = `# qicoord configuration (every key: see the qicoord README, "Configuration").
plugins:
  - ./plugins/word-counter.mjs
defaults:
  isolationLevel: restricted        # sandbox | restricted | monitored
  strategy:
    type: hybrid                    # sequential | parallel | hybrid | adaptive
    maxConcurrentAgents: 2
    failureHandling: graceful-degradation
  resourceLimits:
    maxMemoryMB: 128
    maxExecutionTimeMs: 30000
  securityConstraints:
    allowedTools: [read, list]
    networkAccessLevel: none
    fileSystemAccess: read-only
logging:
  level: warn
`;

const PLUGIN = `// An agent plugin: runs inside a sandboxed SubAgent process. A plain object default export
// works without any import; with qicoord installed you can wrap it in defineAgent() from
// 'qicoord/plugin' for editor types.
export default {
  name: 'word-counter',
  type: 'specialized',
  capabilities: ['count-words'],
  description: 'Counts words in a text, or merges counts from several subtasks',
  async execute(subtask, ctx) {
    const wanted = subtask.expectedOutputs.map((o) => o.name);
    if (wanted.includes('total')) {
      // Reducer: inputs.counts is the array of upstream counts (fan-in).
      const counts = [].concat(ctx.inputs.counts ?? []);
      ctx.progress(1, 'merged');
      return { total: counts.reduce((sum, c) => sum + c.words, 0), parts: counts.length };
    }
    const text = String(ctx.inputs.text ?? '');
    const words = text.split(/\\s+/).filter(Boolean);
    ctx.log.info({ words: words.length }, 'counted');
    ctx.progress(1, 'counted');
    return { counts: { words: words.length, longest: words.reduce((a, w) => (w.length > a.length ? w : a), '') } };
  },
};
`;

const TASK = `# Two counters run in parallel; a reducer merges their counts.
task:
  id: word-count
  description: Count words in two texts and add them up
  subtasks:
    - id: count-a
      agent: word-counter
      inputs: [{ name: text, value: "the quick brown fox jumps over the lazy dog" }]
      expectedOutputs: [{ name: counts }]
      estimatedDuration: 200
    - id: count-b
      agent: word-counter
      inputs: [{ name: text, value: "sandboxed agents coordinate on one machine" }]
      expectedOutputs: [{ name: counts }]
      estimatedDuration: 200
    - id: total
      agent: word-counter
      inputs: [{ name: counts }]
      expectedOutputs: [{ name: total }]
      estimatedDuration: 100
`;

export async function initCommand(dir: string): CommandResult {
  const root = path.resolve(dir);
  const files: [string, string][] = [
    ['.qicoordrc.yaml', CONFIG],
    ['plugins/word-counter.mjs', PLUGIN],
    ['task.yaml', TASK],
  ];
  const existing = files.map(([rel]) => rel).filter((rel) => existsSync(path.join(root, rel)));
  if (existing.length > 0) {
    process.stderr.write(`qicoord init: not overwriting ${existing.map((e) => path.join(root, e)).join(', ')}\n`);
    return EXIT.invalid;
  }
  for (const [rel, content] of files) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    process.stdout.write(`wrote ${file}\n`);
  }
  const where = path.relative(process.cwd(), root);
  process.stdout.write(`\nnext: ${where === '' ? '' : `cd ${where} && `}qicoord run task.yaml\n`);
  return EXIT.ok;
}
