/**
 * Issue 15's distribution checks, in process: a plugin that failed to register is reported as
 * the cause of a subtask without a plugin; partial strategies take the config's defaults; a
 * misspelt strategy gets a suggestion; subtasks beyond the memory budget are named.
 */
import { describe, expect, it } from 'vitest';
import hybrid from '../plugins/strategies/hybrid.js';
import parallel from '../plugins/strategies/parallel.js';
import { resolveConfig } from '../src/config/load.js';
import { checkMemoryBudget } from '../src/distribution/budget.js';
import { TaskDistributionEngine } from '../src/distribution/engine.js';
import { qiError } from '../src/errors/catalogue.js';
import { createRootLogger } from '../src/logging/logger.js';
import { PluginRegistry } from '../src/plugins/registry.js';
import { err, ok } from './helpers.js';

const config = ok(resolveConfig({ logging: { level: 'silent' }, resources: { maxTotalMemory: 1000 } }, { filepath: null, dir: process.cwd() }));

function registry(): PluginRegistry {
  const r = new PluginRegistry();
  ok(r.add({ kind: 'agent', name: 'counter', type: 'specialized', capabilities: ['count'], path: '/p/counter.js', origin: 'test' }));
  for (const s of [parallel, hybrid]) ok(r.add({ kind: 'strategy', name: s.name, plugin: s, path: `/s/${s.name}.js`, origin: 'builtin' }));
  return r;
}

const engine = (r = registry()): TaskDistributionEngine => new TaskDistributionEngine({ config, registry: r, logger: createRootLogger({ level: 'silent' }), coordinatorId: 'c' });
const task = (agent = 'counter', maxMemory?: number) => ({
  id: 't',
  subtasks: [
    { id: 'a', agent, expectedOutputs: [{ name: 'x' }], ...(maxMemory === undefined ? {} : { executionConstraints: { maxMemory } }) },
    { id: 'b', agent: 'counter', inputs: [{ name: 'x' }], ...(maxMemory === undefined ? {} : { executionConstraints: { maxMemory } }) },
  ],
});

describe('a subtask without a plugin', () => {
  it('names the registered agents and the fix when no plugin failed', () => {
    const e = err(engine().distributeTask(task('nobody'), { type: 'parallel', maxConcurrentAgents: 2 }));
    expect(e.code).toBe('INVALID_TASK');
    expect(e.message).toMatch(/needs agent plugin 'nobody', which no registered agent plugin provides \(counter\)\nFix: name one of the registered agents \(counter\)/);
  });

  it('reports the environment failure that kept a plugin out before a bad plugin', () => {
    const r = registry();
    r.problems.push({ path: '/p/bad.js', origin: 'cfg', error: qiError('PLUGIN_INVALID', 'plugin /p/bad.js failed to load: boom') });
    const bad = err(engine(r).distributeTask(task('word-counter'), { type: 'parallel', maxConcurrentAgents: 2 }));
    expect(bad).toMatchObject({ code: 'PLUGIN_INVALID', message: 'plugin /p/bad.js failed to load: boom', context: { plugin: '/p/bad.js', origin: 'cfg' } });
    r.problems.push({ path: '/p/word-counter.js', origin: 'cfg', error: qiError('SANDBOX_UNAVAILABLE', "isolationLevel 'sandbox' needs bubblewrap") });
    expect(err(engine(r).distributeTask(task('word-counter'), { type: 'parallel', maxConcurrentAgents: 2 })).code).toBe('SANDBOX_UNAVAILABLE');
  });
});

describe('strategies from a host', () => {
  it('a partial strategy takes defaults.strategy; a non-object is left to the schema', () => {
    const planned = ok(engine().distributeTask(task(), { type: 'parallel' }));
    expect(planned.strategy).toMatchObject({ type: 'parallel', maxConcurrentAgents: config.defaults.strategy.maxConcurrentAgents, failureHandling: config.defaults.strategy.failureHandling });
    expect(err(engine().distributeTask(task(), 'parallel')).code).toBe('INVALID_SPEC');
    expect(err(engine().distributeTask(task(), null)).code).toBe('INVALID_SPEC');
  });

  it('a misspelt strategy gets a suggestion, a far-off name none', () => {
    expect(err(engine().distributeTask(task(), { type: 'parallell' })).message).toContain("unknown strategy 'parallell' (did you mean 'parallel'?); registered: parallel, hybrid");
    expect(err(engine().distributeTask(task(), { type: 'zzzzzzzzzz' })).message).toContain("unknown strategy 'zzzzzzzzzz'; registered:");
  });
});

describe('checkMemoryBudget', () => {
  it('passes a plan within resources.maxTotalMemory', () => {
    expect(checkMemoryBudget(ok(engine().distributeTask(task(), { type: 'parallel' })), config).tag).toBe('success');
  });

  it('names the first subtask over budget, how many more, the key and the fix', () => {
    const plan = ok(engine().distributeTask(task('counter', 5000), { type: 'parallel' }));
    const e = err(checkMemoryBudget(plan, config));
    expect(e.code).toBe('INSUFFICIENT_RESOURCES');
    expect(e.message).toBe(
      "subtask 'a' needs 5000 MB, more than resources.maxTotalMemory (1000 MB) (and 1 more subtask(s)), so its agent could never be started. Fix: lower task.subtasks[0].executionConstraints.maxMemory or raise resources.maxTotalMemory in .qicoordrc",
    );
    expect(e.context['issues']).toHaveLength(2);
  });
});
