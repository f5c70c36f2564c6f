import { defineAgent, type AgentPluginContext } from 'qicoord/plugin';

interface FileFacts {
  path: string;
  bytes: number;
  lines: number;
  words: number;
}

async function countFile(ctx: AgentPluginContext, path: string): Promise<FileFacts | undefined> {
  try {
    const text = await ctx.tools.call<string>('read', { path });
    return { path, bytes: Buffer.byteLength(text), lines: text === '' ? 0 : text.split('\n').length, words: text.split(/\s+/).filter(Boolean).length };
  } catch (e) {
    ctx.log.info({ path, reason: e instanceof Error ? e.message : String(e) }, 'not a readable file');
    return undefined;
  }
}

/** Preparation phase: the inputs with their types, and facts about the files they name. */
async function prepare(ctx: AgentPluginContext): Promise<Record<string, unknown>> {
  const inputs: Record<string, string> = {};
  const files: FileFacts[] = [];
  const entries = Object.entries(ctx.inputs);
  for (const [i, [name, value]] of entries.entries()) {
    inputs[name] = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
    if (typeof value === 'string' && value.length < 4096) {
      const facts = await countFile(ctx, value);
      if (facts !== undefined) files.push(facts);
    }
    ctx.progress((i + 1) / entries.length, name);
  }
  return { inputs, files };
}

/** The file paths an upstream context or plan names. */
function filesNamed(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(filesNamed);
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  const own = typeof record['path'] === 'string' ? [record['path']] : [];
  return [...own, ...Object.values(record).flatMap(filesNamed)];
}

/** Execution phase: read and count every file the upstream context or plan names. */
async function executeFiles(ctx: AgentPluginContext): Promise<Record<string, unknown>> {
  const paths = [...new Set(filesNamed(ctx.inputs))];
  const results: FileFacts[] = [];
  for (const [i, path] of paths.entries()) {
    const facts = await countFile(ctx, path);
    if (facts !== undefined) results.push(facts);
    ctx.progress((i + 1) / paths.length, path);
  }
  const total = (key: 'bytes' | 'lines' | 'words'): number => results.reduce((sum, f) => sum + f[key], 0);
  return { filesProcessed: results.length, files: results, totals: { bytes: total('bytes'), lines: total('lines'), words: total('words') } };
}

/**
 * Built-in `basic` agent: simple file operations through the brokered tools, data plumbing
 * between subtasks, and the preparation / execution phases of decomposed tasks.
 *
 * Inputs: `operation` — `read` (text of `path`), `list` (entries of `path`), `count-lines`
 * (lines, words and bytes of `path`), `write` (`content` to `path`), or absent.
 * - With an operation, every expected output gets its result.
 * - Expected output `prepared-context` (preparation phase): the subtask's inputs, each with its
 *   JS type, and for string inputs that name readable files, their size and line count.
 * - Expected outputs `execution-result` / `final-result` (execution phase): every file named by
 *   the upstream context or plan is read and counted (lines, words, bytes); totals summed.
 * - Otherwise: pass-through — each expected output gets the input of the same name.
 */
export default defineAgent({
  name: 'basic',
  type: 'basic',
  capabilities: ['basic-operations', 'file-operations', 'simple-reasoning', 'preparation', 'execution', 'monitoring'],
  description: 'File operations (read, list, count-lines, write) through brokered tools, and pass-through of inputs',
  async execute(subtask, ctx) {
    const names = subtask.expectedOutputs.map((o) => o.name);
    if (names.includes('prepared-context')) return { 'prepared-context': await prepare(ctx) };
    const phaseOutput = names.find((n) => n === 'execution-result' || n === 'final-result');
    if (phaseOutput !== undefined && ctx.inputs['operation'] === undefined) return { [phaseOutput]: await executeFiles(ctx) };
    const operation = ctx.inputs['operation'];
    const path = String(ctx.inputs['path'] ?? '.');
    let result: unknown;
    if (operation === 'read') result = await ctx.tools.call<string>('read', { path });
    else if (operation === 'list') result = await ctx.tools.call<string[]>('list', { path });
    else if (operation === 'write') result = await ctx.tools.call('write', { path, content: String(ctx.inputs['content'] ?? '') });
    else if (operation === 'count-lines') {
      const text = await ctx.tools.call<string>('read', { path });
      result = { lines: text === '' ? 0 : text.split('\n').length, words: text.split(/\s+/).filter(Boolean).length, bytes: Buffer.byteLength(text) };
    } else if (operation !== undefined) throw new Error(`unknown operation ${JSON.stringify(operation)}; use read, list, count-lines or write`);
    ctx.progress(1, operation === undefined ? 'passed inputs through' : String(operation));
    const outputs: Record<string, unknown> = {};
    for (const { name } of subtask.expectedOutputs) outputs[name] = operation === undefined ? (ctx.inputs[name] ?? null) : result;
    return outputs;
  },
});
