import { describe, expect, it } from 'vitest';
import {
  CoordinationStrategy,
  DistributedTask,
  ResourceConstraints,
  ResourceRequirement,
  SubAgentSpecification,
  SynchronizationPoint,
  parseInput,
} from '../src/schemas/index.js';
import { parseTask } from '../src/index.js';
import { err, issueLines, ok } from './helpers.js';

const spec = {
  agentType: 'basic',
  capabilities: ['basic-operations'],
  resourceLimits: {
    maxMemoryMB: 64,
    maxExecutionTimeMs: 30000,
    maxConcurrentOperations: 2,
    maxToolCalls: 10,
    allowedNetworkHosts: [],
    maxFileOperations: 5,
  },
  securityConstraints: {
    sandboxEnabled: true,
    allowedTools: ['read', 'write'],
    prohibitedOperations: ['admin'],
    networkAccessLevel: 'none',
    fileSystemAccess: 'restricted',
    resourceMonitoring: true,
  },
  isolationLevel: 'restricted',
  parentAgentId: 'test-coordinator',
} as const;

describe('schemas', () => {
  it('accepts the spec-shaped SubAgentSpecification unchanged', () => {
    const parsed = ok(parseInput(SubAgentSpecification, spec, { code: 'INVALID_SPEC', what: 'spec' }));
    expect(parsed).toEqual(spec);
  });

  it('names every offending path of a bad specification at once', () => {
    const bad = {
      ...spec,
      agentType: 'wizard',
      capabilities: [],
      resourceLimits: { ...spec.resourceLimits, maxMemoryMB: -1, maxExecutionTimeMs: 0 },
      isolationLevel: 'jail',
    };
    const e = err(parseInput(SubAgentSpecification, bad, { code: 'INVALID_SPEC', what: 'spec', root: 'spec' }));
    expect(e.category).toBe('VALIDATION');
    expect(e.code).toBe('INVALID_SPEC');
    const lines = issueLines(e);
    expect(lines).toContain('spec.agentType: expected one of "basic", "decision-capable", "specialized", got "wizard"');
    expect(lines).toContain('spec.capabilities: an agent needs at least one capability');
    expect(lines).toContain('spec.resourceLimits.maxMemoryMB: expected a positive number');
    expect(lines).toContain('spec.resourceLimits.maxExecutionTimeMs: expected a positive number');
    expect(lines.some((l) => l.startsWith('spec.isolationLevel: expected one of'))).toBe(true);
    for (const line of lines) expect(e.message).toContain(line);
  });

  it('reports a deep task path the way the docs show it', () => {
    const task = {
      id: 't',
      subtasks: [
        { id: 'a' },
        { id: 'b' },
        { id: 'c', executionConstraints: { maxMemory: -5 } },
      ],
    };
    const e = err(parseTask(task));
    expect(e.code).toBe('INVALID_TASK');
    expect(issueLines(e)).toEqual(['task.subtasks[2].executionConstraints.maxMemory: expected a positive number']);
    expect(e.message).toContain('task.subtasks[2].executionConstraints.maxMemory: expected a positive number');
  });

  it('rejects unknown keys with a suggestion and required fields as required', () => {
    const e = err(parseTask({ id: 't', subtasks: [{ id: 'a', expectedOutput: [] }, { description: 'no id' }] }));
    expect(issueLines(e)).toEqual([
      "task.subtasks[0].expectedOutput: unknown key (did you mean 'expectedOutputs'?)",
      'task.subtasks[1].id: is required (expected a string)',
    ]);
  });

  it('fills spec defaults so a minimal task file is enough', () => {
    const { task: t, graph } = ok(parseTask({ id: 't', subtasks: [{ id: 'a', inputs: [{ name: 'x', value: 1 }] }] }));
    expect(graph?.order).toEqual([0]);
    expect(t).toMatchObject({
      complexity: 'moderate',
      decomposable: true,
      parallelizable: true,
      dependencies: [],
      resourceRequirements: [],
      priority: 'medium',
    });
    expect(t.subtasks?.[0]).toMatchObject({
      parentTaskId: 't',
      inputs: [{ name: 'x', type: 'any', value: 1, required: true }],
      expectedOutputs: [],
      executionConstraints: {},
      agentRequirements: { capabilities: [], securityLevel: 'medium', concurrencySupport: true },
    });
  });

  it('parses strategies and synchronization points with their defaults', () => {
    const s = ok(
      parseInput(
        CoordinationStrategy,
        { type: 'hybrid', maxConcurrentAgents: 2, failureHandling: 'fail-fast', synchronizationPoints: [{ id: 'b', type: 'barrier' }] },
        { code: 'INVALID_SPEC', what: 'strategy' },
      ),
    );
    expect(s.communicationProtocol).toBe('direct');
    expect(s.synchronizationPoints[0]).toEqual({
      id: 'b',
      type: 'barrier',
      description: '',
      participatingAgents: ['*'],
      condition: { type: 'all-complete', parameters: {} },
      onTimeout: 'fail',
    });
    const bad = err(
      parseInput(SynchronizationPoint, { id: 'x', type: 'vote', timeoutMs: 1.5 }, { code: 'INVALID_SPEC', what: 'point', root: 'point' }),
    );
    expect(issueLines(bad)).toEqual([
      'point.type: expected one of "barrier", "checkpoint", "decision", "aggregation", got "vote"',
      'point.timeoutMs: expected an integer, got number 1.5',
    ]);
  });

  it('validates resource requirements and constraints', () => {
    ok(parseInput(ResourceRequirement, { type: 'memory', amount: 64, unit: 'MB', priority: 'required' }, { code: 'INVALID_SPEC', what: 'r' }));
    const e = err(
      parseInput(ResourceConstraints, { maxTotalMemory: 0, maxConcurrentAllocations: 5, allowSharedResources: 'yes' }, { code: 'INVALID_SPEC', what: 'c' }),
    );
    expect(issueLines(e)).toEqual(['maxTotalMemory: expected a positive number', 'allowSharedResources: expected a boolean, got "yes"']);
  });

  it('refuses ids that are unsafe in file names', () => {
    const e = err(parseInput(DistributedTask, { id: '../etc' }, { code: 'INVALID_TASK', what: 't', root: 'task' }));
    expect(issueLines(e)[0]).toMatch(/^task\.id: expected an id of letters/);
  });

  it('does not let __proto__ in input reach a prototype', () => {
    const input = JSON.parse('{"id":"t","__proto__":{"polluted":true},"subtasks":[{"id":"a"}]}') as unknown;
    const r = parseTask(input);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    if (r.tag === 'success') expect((r.value.task as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
