/** The pure part of ctx.delegate: requests, the child's specification, and "never more than the parent". */
import { describe, expect, it } from 'vitest';
import { childId, childSpecification, delegatedSubtask, delegationLimits, parseRequests, pluginFor, replayedSubtask, widerThanParent } from '../../src/execution/delegation.js';
import type { AgentPluginEntry } from '../../src/plugins/registry.js';
import type { SubAgentSpecification } from '../../src/schemas/spec.js';
import { SubTask } from '../../src/schemas/task.js';

const parentSpec: SubAgentSpecification = {
  agentType: 'decision-capable',
  capabilities: ['plan'],
  resourceLimits: { maxMemoryMB: 256, maxExecutionTimeMs: 60_000, maxConcurrentOperations: 4, maxToolCalls: 100, allowedNetworkHosts: ['api.example.com'], maxFileOperations: 100, maxCpuPercent: 100, maxDiskMB: 512 },
  securityConstraints: { sandboxEnabled: true, allowedTools: ['read', 'list', 'fetch'], prohibitedOperations: ['exec'], networkAccessLevel: 'restricted', fileSystemAccess: 'restricted', resourceMonitoring: true },
  isolationLevel: 'restricted',
  parentAgentId: 'qicoord',
  plugin: 'planner',
};
const reviewer = { name: 'reviewer', type: 'specialized', capabilities: ['review'], path: '/p/reviewer.mjs' } as unknown as AgentPluginEntry;
const planner = { name: 'planner', type: 'decision-capable', capabilities: ['plan'], path: '/p/planner.mjs' } as unknown as AgentPluginEntry;
const agentFor = (name: string | undefined, caps: readonly string[]): AgentPluginEntry | undefined =>
  name !== undefined ? [reviewer, planner].find((p) => p.name === name) : [reviewer, planner].find((p) => caps.every((c) => p.capabilities.includes(c)));
const parent = { subtask: SubTask.parse({ id: 'plan', parentTaskId: 't' }), spec: parentSpec, depth: 0, remainingMs: 30_000 };

describe('requests', () => {
  it('takes well-formed requests and refuses extra keys, bad ids and duplicate ids, naming them', () => {
    expect(parseRequests([{ agent: 'reviewer', inputs: { file: 'a' }, expectedOutputs: ['review', { name: 'score', type: 'number' }] }], 'plan').tag).toBe('success');
    const extra = parseRequests([{ agnet: 'reviewer' }], 'plan');
    expect(extra.tag === 'failure' && extra.error.code).toBe('INVALID_TASK');
    expect(extra.tag === 'failure' && extra.error.message).toContain('agnet');
    const badId = parseRequests([{ id: 'a/b' }], 'plan');
    expect(badId.tag === 'failure' && badId.error.code).toBe('INVALID_TASK');
    const dup = parseRequests([{ id: 'x' }, { id: 'x' }], 'plan');
    expect(dup.tag === 'failure' && dup.error.message).toContain("two requests have the id 'x'");
  });

  it('matches the plugin by name, else by capabilities, else the parent\'s own', () => {
    expect(pluginFor({ agent: 'reviewer' }, 'planner', agentFor)).toMatchObject({ tag: 'success', value: { name: 'reviewer' } });
    expect(pluginFor({ capabilities: ['review'] }, 'planner', agentFor)).toMatchObject({ tag: 'success', value: { name: 'reviewer' } });
    expect(pluginFor({}, 'planner', agentFor)).toMatchObject({ tag: 'success', value: { name: 'planner' } });
    const none = pluginFor({ capabilities: ['fly'] }, 'planner', agentFor);
    expect(none.tag === 'failure' && none.error.message).toContain('capabilities ["fly"]');
    const named = pluginFor({ agent: 'ghost' }, 'planner', agentFor);
    expect(named.tag === 'failure' && named.error.message).toContain("agent plugin 'ghost'");
  });

  it("a task's limits win over the config's", () => {
    expect(delegationLimits({ maxDepth: 3, maxSubtasks: 200 }, { maxDepth: 1 })).toEqual({ maxDepth: 1, maxSubtasks: 200 });
    expect(delegationLimits({ maxDepth: 3, maxSubtasks: 200 }, undefined)).toEqual({ maxDepth: 3, maxSubtasks: 200 });
  });
});

describe('the child holds at most its parent', () => {
  it('inherits everything a request leaves out (not the config defaults), on its own plugin', () => {
    const spec = childSpecification(parentSpec, reviewer);
    expect(spec).toMatchObject({ agentType: 'specialized', capabilities: ['review'], plugin: 'reviewer', isolationLevel: 'restricted' });
    expect(spec.resourceLimits).toEqual(parentSpec.resourceLimits);
    expect(spec.securityConstraints).toEqual(parentSpec.securityConstraints);
    expect(widerThanParent(parentSpec, spec)).toEqual([]);
  });

  it('narrower asks are granted', () => {
    const spec = childSpecification(parentSpec, reviewer, { maxMemory: 128, allowedTools: ['read'], requiresNetwork: false, fileSystemAccess: 'read-only', maxToolCalls: 5, maxFileOperations: 5, maxCpuPercent: 50, maxDiskMB: 64, isolationLevel: 'sandbox', allowedNetworkHosts: [] });
    expect(widerThanParent(parentSpec, spec)).toEqual([]);
    expect(spec.securityConstraints.networkAccessLevel).toBe('none');
  });

  it.each([
    ['maxMemory', { maxMemory: 512 }],
    ['allowedTools', { allowedTools: ['execute'] }],
    ['networkAccessLevel', { networkAccessLevel: 'full' as const }],
    ['allowedNetworkHosts', { allowedNetworkHosts: ['evil.example.com'] }],
    ['fileSystemAccess', { fileSystemAccess: 'full' as const }],
    ['maxToolCalls', { maxToolCalls: 101 }],
    ['maxFileOperations', { maxFileOperations: 101 }],
    ['maxCpuPercent', { maxCpuPercent: 200 }],
    ['maxDiskMB', { maxDiskMB: 513 }],
    ['isolationLevel', { isolationLevel: 'monitored' as const }],
  ])('asking for more %s is DELEGATION_DENIED, naming it', (constraint, asked) => {
    const made = delegatedSubtask(parent, { executionConstraints: asked }, childId('plan', '0'), reviewer);
    expect(made.tag).toBe('failure');
    if (made.tag === 'failure') {
      expect(made.error.code).toBe('DELEGATION_DENIED');
      expect(Object.keys(made.error.context['asked'] as object)).toContain(constraint);
      expect(made.error.message).toContain(constraint);
    }
  });

  it('a deadline past the parent\'s remaining time, or network when the parent has none, is denied; the default deadline is the remaining time', () => {
    const late = delegatedSubtask(parent, { executionConstraints: { maxDuration: 30_001 } }, 'plan~0', reviewer);
    expect(late.tag === 'failure' && late.error.context['asked']).toEqual({ maxDuration: 30_001 });
    const offline = { ...parent, spec: { ...parentSpec, securityConstraints: { ...parentSpec.securityConstraints, networkAccessLevel: 'none' as const } } };
    const net = delegatedSubtask(offline, { executionConstraints: { requiresNetwork: true } }, 'plan~0', reviewer);
    expect(net.tag === 'failure' && net.error.code).toBe('DELEGATION_DENIED');
    const ok = delegatedSubtask(parent, { inputs: { file: 'a.ts', none: null }, expectedOutputs: ['review'] }, 'plan~0', reviewer);
    expect(ok.tag).toBe('success');
    if (ok.tag === 'success') {
      expect(ok.value).toMatchObject({ id: 'plan~0', parentId: 'plan', depth: 1 });
      expect(ok.value.subtask.executionConstraints.maxDuration).toBe(30_000);
      expect(ok.value.subtask.inputs.map((i) => [i.name, i.value])).toEqual([
        ['file', 'a.ts'],
        ['none', null],
      ]);
      expect(ok.value.subtask.expectedOutputs).toEqual([{ name: 'review', type: 'any', description: '' }]);
    }
  });

  it('builds the subtask the SubTask schema would (every default filled in)', () => {
    const made = delegatedSubtask(parent, { agent: 'reviewer', capabilities: ['review'], inputs: { a: 1 }, expectedOutputs: ['x', { name: 'y', type: 'number' }], estimatedDuration: 5 }, 'plan~0', reviewer);
    expect(made.tag).toBe('success');
    if (made.tag === 'success') expect({ ...SubTask.parse({ ...made.value.subtask, id: 'same' }), id: 'plan~0' }).toEqual(made.value.subtask);
  });

  it('equal requests of a parent share one specification object', () => {
    const memo = new Map();
    const a = delegatedSubtask(parent, { agent: 'reviewer', executionConstraints: { maxMemory: 64 } }, 'plan~0', reviewer, memo);
    const b = delegatedSubtask(parent, { agent: 'reviewer', executionConstraints: { maxMemory: 64 } }, 'plan~1', reviewer, memo);
    expect(a.tag === 'success' && b.tag === 'success' && a.value.spec === b.value.spec).toBe(true);
    const denied = delegatedSubtask(parent, { agent: 'reviewer', executionConstraints: { maxMemory: 1024 } }, 'plan~2', reviewer, memo);
    const again = delegatedSubtask(parent, { agent: 'reviewer', executionConstraints: { maxMemory: 1024 } }, 'plan~3', reviewer, memo);
    expect(denied.tag === 'failure' && again.tag === 'failure' && again.error.code).toBe('DELEGATION_DENIED');
  });

  it('refuses an id past 200 characters', () => {
    const long = delegatedSubtask(parent, {}, `plan~${'x'.repeat(200)}`, reviewer);
    expect(long.tag === 'failure' && long.error.code).toBe('INVALID_TASK');
  });

  it('losing a prohibition or monitoring counts as more', () => {
    const looser = { ...parentSpec, securityConstraints: { ...parentSpec.securityConstraints, prohibitedOperations: [], resourceMonitoring: false, sandboxEnabled: false } };
    expect(widerThanParent(parentSpec, looser).map((w) => w.constraint)).toEqual(['prohibitedOperations', 'sandboxEnabled', 'resourceMonitoring']);
  });
});

describe('a journal\'s delegated subtask', () => {
  const made = delegatedSubtask(parent, { agent: 'reviewer' }, 'plan~0', reviewer);
  const good = made.tag === 'success' ? made.value : undefined;
  const specOf = (id: string): SubAgentSpecification | undefined => (id === 'plan' ? parentSpec : undefined);

  it('is believed when its shape, parent and limits hold', () => {
    expect(replayedSubtask(JSON.parse(JSON.stringify(good)), specOf)).toMatchObject({ id: 'plan~0' });
  });

  it('is refused when widened, misnamed, or of an unknown parent', () => {
    const widened = JSON.parse(JSON.stringify(good));
    widened.spec.resourceLimits.maxMemoryMB = 4096;
    expect(replayedSubtask(widened, specOf)).toBeUndefined();
    expect(replayedSubtask({ ...good, id: 'other~0' }, specOf)).toBeUndefined();
    expect(replayedSubtask({ ...good, parentId: 'ghost', id: 'ghost~0', subtask: { ...good!.subtask, id: 'ghost~0' } }, specOf)).toBeUndefined();
    expect(replayedSubtask({ junk: true }, specOf)).toBeUndefined();
  });
});
