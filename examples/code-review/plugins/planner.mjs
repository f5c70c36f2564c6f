// The planner of the code-review example: lists a folder (the `list` tool), then delegates one
// `reviewer` sub-agent per matching file, `batch` at a time, and merges what they found. Each
// reviewer holds at most what the planner holds (read-only, no network); it asks for less memory.
import path from 'node:path';

export default {
  name: 'planner',
  type: 'decision-capable',
  capabilities: ['planning'],
  description: 'Lists a folder and delegates one reviewer per source file, then merges the reviews',
  async execute(_subtask, ctx) {
    const root = ctx.grants.read.find((p) => p !== ctx.workspace) ?? ctx.workspace;
    const dir = path.resolve(root, String(ctx.inputs.dir ?? '.'));
    const extensions = ctx.inputs.extensions ?? ['.ts', '.js', '.mjs'];
    const batch = Math.max(1, Number(ctx.inputs.batch ?? 4));
    const names = await ctx.tools.call('list', { path: dir });
    const files = names.filter((n) => !n.endsWith('/') && extensions.some((e) => n.endsWith(e)));
    ctx.log.info({ files: files.length, batch }, `reviewing ${files.length} files of ${dir}`);
    const reviews = [];
    for (let i = 0; i < files.length; i += batch) {
      if (ctx.signal.aborted) break;
      const chunk = files.slice(i, i + batch);
      const done = await ctx.delegate(
        chunk.map((name) => ({
          id: name.replace(/[^A-Za-z0-9._-]/g, '_'),
          agent: 'reviewer',
          description: `review ${name}`,
          inputs: { file: path.join(dir, name) },
          expectedOutputs: ['review'],
          executionConstraints: { maxMemory: 96 },
          estimatedDuration: 200,
        })),
      );
      reviews.push(...done.map((d) => d.review));
      ctx.progress((i + chunk.length) / files.length, `${i + chunk.length}/${files.length} files`);
    }
    const totals = reviews.reduce((t, r) => ({ lines: t.lines + r.lines, functions: t.functions + r.functions, markers: t.markers + r.markers.length }), { lines: 0, functions: 0, markers: 0 });
    const longest = reviews
      .flatMap((r) => r.longestFunctions.map((f) => ({ ...f, file: r.file })))
      .sort((a, b) => b.lines - a.lines)
      .slice(0, 5);
    return { report: { folder: dir, files: reviews.length, totals, longestFunctions: longest, markers: reviews.flatMap((r) => r.markers.map((m) => `${r.file}:${m.line} ${m.text}`)) } };
  },
};
