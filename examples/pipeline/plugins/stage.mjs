// One plugin for every stage of the pipeline example; each subtask's `role` input picks what
// it does. It uses every coordination feature: a barrier, pub/sub, a decision and an aggregation.
function stats(numbers) {
  const sorted = [...numbers].sort((a, b) => a - b);
  const sum = numbers.reduce((s, n) => s + n, 0);
  const mean = sum / numbers.length;
  const median = sorted[Math.floor(sorted.length / 2)];
  return { count: numbers.length, sum, mean, median };
}

const roles = {
  // Loads its numbers, waits for everyone at the barrier, publishes its partial statistics,
  // proposes how to summarise (mean unless the data is skewed), and adds its count to the total.
  async worker(ctx) {
    const numbers = ctx.inputs.numbers;
    const partial = stats(numbers);
    ctx.progress(0.25, 'loaded');
    await ctx.sync('ready');
    await ctx.publish('partials', { from: ctx.inputs.name, ...partial });
    ctx.progress(0.5, 'published');
    const skewed = Math.abs(partial.mean - partial.median) > partial.mean * 0.25;
    const method = await ctx.sync('method', skewed ? 'median' : 'mean');
    ctx.progress(0.75, `decided: ${method}`);
    const total = await ctx.sync('total', partial.count);
    return { partial: { ...partial, method, total } };
  },
  // Subscribes before the barrier, then collects one partial per worker.
  async monitor(ctx) {
    const partials = ctx.subscribe('partials');
    await ctx.sync('ready');
    const seen = [];
    for await (const message of partials) {
      seen.push(message);
      ctx.progress(seen.length / ctx.inputs.workers, `got ${message.from}`);
      if (seen.length === ctx.inputs.workers) break;
    }
    return { observed: seen.map((m) => m.from).sort() };
  },
  // Merges everything into one report.
  async report(ctx) {
    const partials = [].concat(ctx.inputs.partial);
    const method = partials[0].method;
    const values = partials.map((p) => p[method]);
    return {
      report: {
        method,
        total: partials[0].total,
        perWorker: partials.map((p) => ({ count: p.count, [method]: p[method] })),
        combined: values.reduce((s, v) => s + v, 0) / values.length,
        observedBy: ctx.inputs.observed,
      },
    };
  },
};

export default {
  name: 'pipeline-stage',
  type: 'specialized',
  capabilities: ['pipeline'],
  async execute(subtask, ctx) {
    const role = roles[ctx.inputs.role];
    if (role === undefined) throw new Error(`unknown role ${ctx.inputs.role}`);
    return role(ctx);
  },
};
