// An agent plugin that counts the lines of a file it reads through the brokered `read` tool.
export default {
  name: 'line-counter',
  type: 'specialized',
  capabilities: ['count-lines'],
  async execute(subtask, ctx) {
    const text = await ctx.tools.call('read', { path: ctx.inputs.path });
    ctx.progress(0.5, 'read');
    const lines = String(text).split('\n').filter((l) => l.trim() !== '').length;
    ctx.log.info({ lines }, 'counted');
    ctx.progress(1, 'counted');
    return { lines };
  },
};
