import { defineAgent, type AgentPluginContext } from 'qicoord/plugin';

/**
 * Built-in `decision-capable` agent: analysis, planning and decisions.
 *
 * - Expected output `analysis-result` (analysis phase): each input classified (file, number,
 *   text, list, object) with its size; files are measured through the `read` tool.
 * - Expected output `execution-plan` (planning phase): from `analysis-result`, one step per file
 *   (`count-lines`), largest first, and a summary of the non-file inputs.
 * - Expected output `plan-results` (planning, then carrying the plan out): the plan as above
 *   (from input `analysis-result`, else from its own analysis of the inputs), then one `basic`
 *   sub-agent per step (`ctx.delegate`, `count-lines` of the step's file, holding only the `read`
 *   tool), at most input `parallel` (default 4) at once; returns each step's counts and the totals.
 *   The plan is only known at run time (it depends on what the inputs name), so its steps become
 *   subtasks of the running DAG instead of a fixed phase.
 * - Expected output `decision` (or any output, with inputs `options` and `criteria`): scores each
 *   option (an object) by the weighted sum of its numeric criteria (`criteria`: `{ field: weight }`),
 *   proposes the best at the synchronization point named by input `decisionPoint` when given, and
 *   returns the decided option with its score.
 */
interface Item {
  name: string;
  kind: 'file' | 'number' | 'text' | 'list' | 'object' | 'other';
  size: number;
  path?: string;
}

async function classify(ctx: AgentPluginContext, name: string, value: unknown): Promise<Item> {
  if (typeof value === 'number') return { name, kind: 'number', size: 1 };
  if (Array.isArray(value)) return { name, kind: 'list', size: value.length };
  if (typeof value === 'object' && value !== null) return { name, kind: 'object', size: Object.keys(value).length };
  if (typeof value !== 'string') return { name, kind: 'other', size: 0 };
  try {
    const text = await ctx.tools.call<string>('read', { path: value });
    return { name, kind: 'file', size: Buffer.byteLength(text), path: value };
  } catch {
    return { name, kind: 'text', size: value.length };
  }
}

async function analyse(ctx: AgentPluginContext): Promise<Record<string, unknown>> {
  const items: Item[] = [];
  for (const [name, value] of Object.entries(ctx.inputs)) items.push(await classify(ctx, name, value));
  const files = items.filter((i) => i.kind === 'file');
  return {
    items,
    fileCount: files.length,
    totalFileBytes: files.reduce((s, f) => s + f.size, 0),
    recommendations: files.length === 0 ? ['no files to process'] : [`process ${files.length} file(s), largest first`],
  };
}

function plan(analysis: unknown): Record<string, unknown> {
  const items = (typeof analysis === 'object' && analysis !== null ? ((analysis as { items?: unknown }).items ?? []) : []) as Item[];
  const files = items.filter((i) => i.kind === 'file' && typeof i.path === 'string').sort((a, b) => b.size - a.size);
  return {
    steps: files.map((f, order) => ({ order, action: 'count-lines', path: f.path, expectedBytes: f.size })),
    context: items.filter((i) => i.kind !== 'file').map((i) => ({ name: i.name, kind: i.kind })),
  };
}

interface Counted {
  path: string;
  lines: number;
  words: number;
  bytes: number;
}

async function carryOut(ctx: AgentPluginContext): Promise<Record<string, unknown>> {
  const analysis = ctx.inputs['analysis-result'] ?? (await analyse(ctx));
  const steps = (plan(analysis)['steps'] ?? []) as { path: string }[];
  const parallel = Math.max(1, Number(ctx.inputs['parallel'] ?? 4));
  const results: Counted[] = [];
  for (let i = 0; i < steps.length && !ctx.signal.aborted; i += parallel) {
    const chunk = steps.slice(i, i + parallel);
    const done = await ctx.delegate<{ result: Omit<Counted, 'path'> }>(
      chunk.map((step) => ({
        agent: 'basic',
        description: `count-lines ${step.path}`,
        inputs: { operation: 'count-lines', path: step.path },
        expectedOutputs: ['result'],
        executionConstraints: { allowedTools: ['read'] },
        estimatedDuration: 100,
      })),
    );
    done.forEach((d, k) => results.push({ path: chunk[k]!.path, ...d.result }));
    ctx.progress((i + chunk.length) / steps.length, `${i + chunk.length}/${steps.length} steps`);
  }
  const total = (key: 'lines' | 'words' | 'bytes'): number => results.reduce((sum, r) => sum + r[key], 0);
  return { steps: steps.length, results, totals: { lines: total('lines'), words: total('words'), bytes: total('bytes') } };
}

function score(option: unknown, criteria: Record<string, number>): number {
  if (typeof option !== 'object' || option === null) return 0;
  const record = option as Record<string, unknown>;
  return Object.entries(criteria).reduce((sum, [field, weight]) => sum + (typeof record[field] === 'number' ? record[field] * weight : 0), 0);
}

async function decide(ctx: AgentPluginContext): Promise<Record<string, unknown>> {
  const options = Array.isArray(ctx.inputs['options']) ? ctx.inputs['options'] : [];
  if (options.length === 0) throw new Error('input `options` must be a non-empty array to decide');
  const criteria = (ctx.inputs['criteria'] ?? {}) as Record<string, number>;
  const ranked = options.map((option, index) => ({ option, index, score: score(option, criteria) })).sort((a, b) => b.score - a.score || a.index - b.index);
  const best = ranked[0]!;
  const point = ctx.inputs['decisionPoint'];
  const decided = typeof point === 'string' ? await ctx.sync(point, best.option) : best.option;
  return { decision: decided, proposed: best.option, score: best.score };
}

export default defineAgent({
  name: 'decision-capable',
  type: 'decision-capable',
  capabilities: ['basic-operations', 'decision-making', 'task-planning', 'workflow-execution', 'analysis', 'planning'],
  description: 'Analysis of inputs, execution planning, and weighted decisions (optionally agreed at a decision point)',
  async execute(subtask, ctx) {
    const names = subtask.expectedOutputs.map((o) => o.name);
    if (names.includes('analysis-result')) return { 'analysis-result': await analyse(ctx) };
    if (names.includes('execution-plan')) return { 'execution-plan': plan(ctx.inputs['analysis-result']) };
    if (names.includes('plan-results')) return { 'plan-results': await carryOut(ctx) };
    const result = await decide(ctx);
    const outputs: Record<string, unknown> = {};
    for (const name of names) outputs[name] = name === 'decision' ? result['decision'] : result;
    return outputs;
  },
});
