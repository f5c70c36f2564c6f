import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AgentPlugin } from 'qicoord/plugin';
import { runPluginForTest } from 'qicoord/testing';

const examples = path.join(import.meta.dirname, '../examples');
const load = async (file: string): Promise<AgentPlugin> => ((await import(path.join(examples, file))) as { default: AgentPlugin }).default;

describe('runPluginForTest: a plugin author unit-tests a plugin in process', () => {
  it('runs execute with inputs, brokered tools on a temp workspace, progress and log', async () => {
    const plugin = await load('plugin-testing/plugins/line-counter.mjs');
    const run = await runPluginForTest(plugin, { inputs: { path: 'a.txt' }, files: { 'a.txt': 'x\ny\n' } });
    expect(run.result).toEqual({ tag: 'success', value: { lines: 2 } });
    expect(run.progress).toEqual([
      { fraction: 0.5, note: 'read' },
      { fraction: 1, note: 'counted' },
    ]);
    expect(run.logs[0]).toMatchObject({ level: 'info', data: { lines: 2 }, msg: 'counted' });
    expect(run.usage).toMatchObject({ toolCalls: 1, fileOperations: 1, deniedCalls: 0 });
  });

  it('reports the tool error a real agent would get, and a tool not allowed', async () => {
    const plugin = await load('plugin-testing/plugins/line-counter.mjs');
    const outside = await runPluginForTest(plugin, { inputs: { path: '/etc/hostname' } });
    expect(outside.result.tag === 'failure' && outside.result.error.code).toBe('FS_DENIED');
    const denied = await runPluginForTest(plugin, { inputs: { path: 'a.txt' }, files: { 'a.txt': '' }, allowedTools: ['list'] });
    expect(denied.result.tag === 'failure' && denied.result.error.code).toBe('TOOL_DENIED');
  });

  it('answers ctx.sync with options.sync, records publish, and says what a unit test cannot do', async () => {
    const stage = await load('pipeline/plugins/stage.mjs');
    const answers: Record<string, unknown> = { ready: true, method: 'mean', total: 3 };
    const run = await runPluginForTest(stage, { inputs: { role: 'worker', name: 'w1', numbers: [1, 2, 3] }, sync: (point) => answers[point] });
    expect(run.result.tag).toBe('success');
    expect(run.published).toEqual([{ topic: 'partials', message: expect.objectContaining({ from: 'w1', count: 3 }) }]);
    const monitor = await runPluginForTest(stage, { inputs: { role: 'monitor', workers: 1 }, sync: () => true });
    expect(monitor.result.tag === 'failure' && monitor.result.error.message).toMatch(/^ctx\.subscribe is not available in unit tests/);
    const noSync = await runPluginForTest(stage, { inputs: { role: 'worker', name: 'w1', numbers: [1] } });
    expect(noSync.result.tag === 'failure' && noSync.result.error.message).toMatch(/^ctx\.sync\('ready'\) is not available in unit tests/);
  });

  it('answers ctx.delegate with options.delegate (one call per request), records the requests, and a throwing child rejects the call', async () => {
    const planner = await load('code-review/plugins/planner.mjs');
    const reviews = (file: string) => ({ review: { file, lines: 10, functions: 1, longestFunctions: [{ name: 'f', line: 1, lines: 5 }], markers: [] } });
    const run = await runPluginForTest(planner, {
      inputs: { dir: '.', extensions: ['.ts'], batch: 2 },
      files: { 'a.ts': 'x', 'b.ts': 'y', 'c.ts': 'z', 'notes.md': 'n' },
      delegate: (request) => reviews(path.basename(String((request['inputs'] as { file: string }).file))),
    });
    expect(run.result.tag).toBe('success');
    expect(run.delegated.map((r) => r['agent'])).toEqual(['reviewer', 'reviewer', 'reviewer']);
    const report = (run.result as unknown as { value: { report: { files: number; totals: { lines: number } } } }).value.report;
    expect(report).toMatchObject({ files: 3, totals: { lines: 30 } });
    const failing = await runPluginForTest(planner, { inputs: { dir: '.', extensions: ['.ts'] }, files: { 'a.ts': 'x' }, delegate: () => { throw new Error('reviewer broke'); } });
    expect(failing.result.tag === 'failure' && failing.result.error.message).toContain('reviewer broke');
    const without = await runPluginForTest(planner, { inputs: { dir: '.', extensions: ['.ts'] }, files: { 'a.ts': 'x' } });
    expect(without.result.tag === 'failure' && without.result.error.message).toContain('not available in unit tests');
  });

  it("a plugin's throw is AGENT_ERROR with its stack", async () => {
    const plugin: AgentPlugin = { name: 'thrower', type: 'basic', capabilities: [], execute: () => Promise.reject(new Error('nope')) };
    const run = await runPluginForTest(plugin);
    expect(run.result.tag === 'failure' && run.result.error).toMatchObject({ code: 'AGENT_ERROR', context: { stack: expect.stringContaining('nope') } });
  });

  it('runs the real ctx: messages, topics and queues are fed from options; options.signal aborts ctx.signal', async () => {
    const talker: AgentPlugin = {
      name: 'talker',
      type: 'basic',
      capabilities: [],
      async execute(_subtask, ctx) {
        const direct: unknown[] = [];
        for await (const m of ctx.messages<string>()) {
          direct.push(m);
          if (direct.length === 2) break;
        }
        const topic = ctx.subscribe<number>('numbers')[Symbol.asyncIterator]();
        const first = await topic.next();
        const jobs = ctx.queue<string>('jobs');
        await jobs.push('b');
        const pulled = [await jobs.pull(), await jobs.pull(), await jobs.pull()].map((m) => m?.body ?? 'none');
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        return { direct, first: first.value, pulled, aborted: ctx.signal.aborted };
      },
    };
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const run = await runPluginForTest(talker, {
      messages: [{ from: 'x', body: 'hi' }, { from: 'y', body: 'there' }],
      topics: { numbers: [7] },
      queues: { jobs: ['a'] },
      signal: abort.signal,
    });
    expect(run.result).toEqual({
      tag: 'success',
      value: { direct: [{ from: 'x', body: 'hi' }, { from: 'y', body: 'there' }], first: 7, pulled: ['a', 'b', 'none'], aborted: true },
    });
  });

  it('a cancel before the plugin first reads ctx.signal gives it an already-aborted signal', async () => {
    const late: AgentPlugin = {
      name: 'late-reader',
      type: 'basic',
      capabilities: [],
      async execute() {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return {};
      },
    };
    let seen: boolean | undefined;
    const reader: AgentPlugin = {
      ...late,
      async execute(subtask, ctx) {
        await late.execute(subtask, ctx);
        seen = ctx.signal.aborted;
        return { aborted: seen };
      },
    };
    const run = await runPluginForTest(reader, { signal: AbortSignal.abort() });
    expect(seen).toBe(true);
    expect(run.result).toEqual({ tag: 'success', value: { aborted: true } });
  });

  it('a plugin waiting on something no test provides ends with TIME_LIMIT at options.timeoutMs', async () => {
    const waiter: AgentPlugin = { name: 'waiter', type: 'basic', capabilities: [], execute: () => new Promise(() => undefined) };
    const run = await runPluginForTest(waiter, { timeoutMs: 100 });
    expect(run.result.tag === 'failure' && run.result.error.code).toBe('TIME_LIMIT');
  });

  it('the example under examples/plugin-testing passes with node --test', async () => {
    // TAP on every Node version (Node ≥ 23 defaults to the spec reporter).
    const { stdout } = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap', path.join(examples, 'plugin-testing/line-counter.test.mjs')]);
    expect(stdout).toMatch(/# pass 2/);
    expect(stdout).toMatch(/# fail 0/);
  });
});
