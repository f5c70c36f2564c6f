import { defineAgent } from 'qicoord/plugin';

/**
 * Built-in `basic` agent: simple file operations through the brokered tools, and data
 * plumbing between subtasks.
 *
 * Inputs: `operation` — `read` (text of `path`), `list` (entries of `path`), `count-lines`
 * (lines, words and bytes of `path`), `write` (`content` to `path`), or absent. Every expected
 * output is filled: with the operation's result when there is an operation, else with the
 * input of the same name (pass-through).
 */
export default defineAgent({
  name: 'basic',
  type: 'basic',
  capabilities: ['basic-operations', 'file-operations', 'simple-reasoning'],
  description: 'File operations (read, list, count-lines, write) through brokered tools, and pass-through of inputs',
  async execute(subtask, ctx) {
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
