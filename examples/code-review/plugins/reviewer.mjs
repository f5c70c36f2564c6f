// The reviewer of the code-review example: reads one file (the `read` tool) and reports its size,
// its functions (by a plain scan for `function`/method heads and their brace depth), the longest
// of them, and TODO/FIXME markers. It runs as a sub-agent of the planner.
import path from 'node:path';

const HEAD = /^\s*(?:export\s+)?(?:async\s+)?(?:function\s*\*?\s*([A-Za-z0-9_$]+)|(?:private|public|protected|static|readonly|\s)*(?:async\s+)?([A-Za-z0-9_$]+)\s*\([^;]*\)\s*(?::[^=;{]+)?\{\s*$)/;

function functionsOf(lines) {
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const m = HEAD.exec(lines[i]);
    const name = m?.[1] ?? m?.[2];
    if (name === undefined || ['if', 'for', 'while', 'switch', 'catch'].includes(name)) continue;
    let depth = 0;
    let end = i;
    for (let j = i; j < lines.length; j++) {
      for (const ch of lines[j]) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
      if (depth <= 0 && j > i) {
        end = j;
        break;
      }
    }
    found.push({ name, line: i + 1, lines: end - i + 1 });
  }
  return found;
}

export default {
  name: 'reviewer',
  type: 'specialized',
  capabilities: ['review'],
  description: 'Reviews one source file: size, functions, the longest ones, open markers',
  async execute(_subtask, ctx) {
    const file = String(ctx.inputs.file);
    const text = await ctx.tools.call('read', { path: file });
    const lines = text.split('\n');
    const functions = functionsOf(lines);
    const markers = lines.flatMap((l, i) => (/\b(TODO|FIXME|XXX)\b/.test(l) ? [{ line: i + 1, text: l.trim().slice(0, 120) }] : []));
    return {
      review: {
        file: path.basename(file),
        lines: lines.length,
        functions: functions.length,
        longestFunctions: functions.sort((a, b) => b.lines - a.lines).slice(0, 3),
        markers,
      },
    };
  },
};
