/**
 * Values from a child are bounded before anything stringifies them, and an agent's log records
 * are capped (issue 9, items 6 and 7), with real agents and the real CLI:
 * - a 200 KB frame nested 100,000 levels deep (a result, an error's context, a sync value, log
 *   data, a message body) fails that agent with INVALID_MESSAGE; the coordinator lives on, and
 *   `qicoord run --json` still prints one valid JSON document with the other subtasks intact;
 * - two agents flooding `ctx.log` and refused tool calls leave a bounded stderr, with one
 *   summary record per agent of what was dropped.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SubAgent } from '../src/subagent/agent.js';
import { createRootLogger } from '../src/logging/logger.js';
import { SubAgentFactory } from '../src/subagent/factory.js';
import { qicoord as runCli } from './cli-helpers.js';
import { err, ok, tempProject, writeFiles } from './helpers.js';
import { attack, makeFactory, pidAlive, spec, testConfig, waitUntil } from './sandbox-helpers.js';

const FORGER = path.join(import.meta.dirname, 'fixtures/plugins/forger.mjs');
const DEPTH = 100_000;

let factories: SubAgentFactory[] = [];
let pids: number[] = [];

afterEach(async () => {
  await Promise.all(factories.map((f) => f.close()));
  factories = [];
  expect(await waitUntil(() => pids.every((p) => !pidAlive(p)))).toBe(true);
  pids = [];
});


/** A project whose config loads the forger plugin, with `task` as task.json. */
function project(config: Record<string, unknown>, task: unknown): string {
  const dir = tempProject('qicoord-bounds-');
  writeFiles(dir, {
    '.qicoordrc.json': JSON.stringify({ plugins: [FORGER], ...config, sandbox: { workspaceRoot: path.join(dir, 'ws'), ...(config['sandbox'] as object) } }),
    'task.json': JSON.stringify(task),
  });
  return dir;
}

function forgerSubtask(id: string, inputs: Record<string, unknown>): Record<string, unknown> {
  return { id, agent: 'forger', inputs: Object.entries(inputs).map(([name, value]) => ({ name, value })), expectedOutputs: [{ name: 'data' }] };
}

const KINDS = ['result', 'error', 'sync', 'log', 'send'] as const;

describe('deeply nested values from a child', () => {
  async function agentWith(factory: SubAgentFactory): Promise<SubAgent> {
    const agent = ok(await factory.spawn(spec({ plugin: FORGER })));
    pids.push(agent.pid);
    return agent;
  }

  it.each(KINDS)('a %s nested 100,000 levels fails that agent INVALID_MESSAGE; a bystander is unharmed', async (kind) => {
    const factory = makeFactory();
    factories.push(factory);
    const agent = await agentWith(factory);
    const bystander = await agentWith(factory);
    const a = attack('deep', { kind, depth: DEPTH });
    const e = err(await agent.execute(a.subtask, a.inputs));
    expect(e).toMatchObject({ code: 'INVALID_MESSAGE', category: 'VALIDATION' });
    expect(e.message).toContain('nested deeper than 64 levels');
    expect(await waitUntil(() => !pidAlive(agent.pid))).toBe(true);
    const b = attack('echo', { value: { still: ['fine'] } });
    expect(ok(await bystander.execute(b.subtask, b.inputs)).outputs).toEqual({ data: { still: ['fine'] } });
  });

  it('through ctx, a too-deep value is a catchable error (sync) or AGENT_ERROR (outputs); the agent lives on', async () => {
    const factory = makeFactory();
    factories.push(factory);
    const agent = await agentWith(factory);
    const sync = attack('honest-deep', { depth: 70, where: 'sync' });
    expect(ok(await agent.execute(sync.subtask, sync.inputs)).outputs).toEqual({ data: 'INVALID_MESSAGE' });
    const output = attack('honest-deep', { depth: 70, where: 'output' });
    expect(err(await agent.execute(output.subtask, output.inputs))).toMatchObject({ code: 'AGENT_ERROR' });
    expect(agent.status).toBe('ready');
    // The limits are exact: 62 levels of output value and 63 of sync value pass the channel.
    const fits = attack('honest-deep', { depth: 62, where: 'output' });
    expect(ok(await agent.execute(fits.subtask, fits.inputs)).outputs).toEqual({ data: JSON.parse(`${'['.repeat(62)}${']'.repeat(62)}`) });
    const syncFits = attack('honest-deep', { depth: 63, where: 'sync' });
    expect(ok(await agent.execute(syncFits.subtask, syncFits.inputs)).outputs).toEqual({ data: 'NOT_FOUND' });
  });

  it('the CLI still prints one valid --json document (and a valid trace); only the deep subtasks fail', async () => {
    const dir = project(
      { logging: { level: 'error' } },
      {
        task: {
          id: 'deep',
          subtasks: [...KINDS.map((kind) => forgerSubtask(`deep-${kind}`, { attack: 'deep', kind, depth: DEPTH, to: 'fine' })), forgerSubtask('fine', { attack: 'echo', value: { intact: [1, 2, 3] } })],
        },
        strategy: { type: 'parallel', maxConcurrentAgents: 3, failureHandling: 'graceful-degradation' },
      },
    );
    const r = await qicoord(['run', 'task.json', '--json', '--trace', 'trace.json'], dir);
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as {
      tag: string;
      value: { success: boolean; aggregatedResult: { outputs: Record<string, unknown>; subtasks: { id: string; status: string; error?: { code: string } }[] } };
    };
    expect(doc.tag).toBe('success');
    expect(doc.value.success).toBe(false);
    const byId = new Map(doc.value.aggregatedResult.subtasks.map((s) => [s.id, s]));
    for (const kind of KINDS) expect(byId.get(`deep-${kind}`)).toMatchObject({ status: 'failed', error: { code: 'INVALID_MESSAGE' } });
    expect(byId.get('fine')?.status).toBe('succeeded');
    expect(doc.value.aggregatedResult.outputs['fine']).toEqual({ data: { intact: [1, 2, 3] } });
    expect(() => JSON.parse(readFileSync(path.join(dir, 'trace.json'), 'utf8'))).not.toThrow();
    // The human summary too.
    const human = await qicoord(['run', 'task.json'], dir);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('FAILED: 1/6 subtasks');
  });
});

describe('log flood', () => {
  it('two agents flooding ctx.log and refused tool calls leave a bounded stderr and one summary each', async () => {
    const cap = 64 * 1024;
    const flood = { attack: 'flood', records: 3000, bytes: 2000, refused: 300 };
    const dir = project(
      { logging: { level: 'warn' }, sandbox: { maxOutputBytes: cap } },
      {
        task: { id: 'flood', subtasks: [forgerSubtask('flood-1', flood), forgerSubtask('flood-2', flood)] },
        strategy: { type: 'parallel', maxConcurrentAgents: 2, failureHandling: 'graceful-degradation' },
      },
    );
    const r = await qicoord(['run', 'task.json', '--json', '--log-format', 'json'], dir);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { value: { aggregatedResult: { outputs: Record<string, { data: { refused: number } }> } } };
    for (const id of ['flood-1', 'flood-2']) expect(doc.value.aggregatedResult.outputs[id]?.data.refused).toBe(300);

    // Each agent tried to log ~3000 × 4 KB plus 300 refusals: about 12 MB each.
    const bytes = Buffer.byteLength(r.stderr);
    expect(bytes).toBeLessThan(2 * cap + 16 * 1024);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { agentId?: string; msg: string; fromAgent?: boolean; logCap?: { droppedRecords: number } });
    expect(lines.some((l) => l.fromAgent === true)).toBe(true);
    const summaries = lines.filter((l) => l.logCap !== undefined);
    expect(summaries).toHaveLength(2);
    expect(new Set(summaries.map((s) => s.agentId)).size).toBe(2);
    for (const s of summaries) {
      expect(s.msg).toMatch(/^agent \S+: \d+ log records \/ \d+ bytes dropped after the cap/);
      expect(s.logCap!.droppedRecords).toBeGreaterThan(3000);
    }
  });

  it('one-character lines on stderr cannot multiply the output cap into log records', async () => {
    const cap = 16 * 1024;
    let bytes = 0;
    const lines: string[] = [];
    const logger = createRootLogger({
      level: 'warn',
      destination: {
        write: (line: string): void => {
          bytes += Buffer.byteLength(line);
          lines.push(line);
        },
      },
    });
    const factory = new SubAgentFactory({ parentAgentId: 'test-coordinator', config: testConfig({ sandbox: { maxOutputBytes: cap } }), logger });
    factories.push(factory);
    const agent = ok(await factory.spawn(spec({ plugin: FORGER })));
    pids.push(agent.pid);
    const a = attack('tiny-lines', { count: 200_000 });
    expect(ok(await agent.execute(a.subtask, a.inputs)).outputs).toEqual({ data: 'printed' });
    await agent.terminate('done');
    expect(await waitUntil(() => lines.some((l) => l.includes('stderr over sandbox.maxOutputBytes')))).toBe(true);
    // 400 KB printed as 200,000 records would be ~30 MB of log.
    expect(bytes).toBeLessThan(cap + 4096);
  });
});

function qicoord(args: string[], cwd: string): ReturnType<typeof runCli> {
  return runCli(args, cwd, 256 * 1024 * 1024);
}
