import { describe, expect, it } from 'vitest';
import { buildTaskGraph, criticalPath } from '../src/dag/graph.js';
import { parseTask, type SubTask } from '../src/index.js';
import { err, issueLines, ok } from './helpers.js';

type Node = Pick<SubTask, 'id' | 'inputs' | 'expectedOutputs'>;

function node(id: string, needs: string[] = [], makes: string[] = []): Node {
  return {
    id,
    inputs: needs.map((name) => ({ name, type: 'any', value: null, required: true })),
    expectedOutputs: makes.map((name) => ({ name, type: 'any', description: '' })),
  };
}

describe('buildTaskGraph', () => {
  it('links inputs to the upstream outputs of the same name, in a stable topological order', () => {
    const g = ok(buildTaskGraph([node('c', ['x', 'y'], ['z']), node('a', [], ['x']), node('b', ['x'], ['y'])]));
    expect(g.order.map((i) => g.ids[i])).toEqual(['a', 'b', 'c']);
    expect(g.preds[g.index.get('c')!]!.map((i) => g.ids[i])).toEqual(['a', 'b']);
    expect(g.inputSources[0]!['x']).toEqual({ kind: 'upstream', producers: ['a'] });
  });

  it('feeds an input with several producers from all of them, in declaration order', () => {
    const g = ok(buildTaskGraph([node('m1', [], ['part']), node('m2', [], ['part']), node('r', ['part'], ['total'])]));
    expect(g.inputSources[2]!['part']).toEqual({ kind: 'upstream', producers: ['m1', 'm2'] });
  });

  it('treats an input with a value as a literal, not an edge', () => {
    const withValue: Node = { ...node('b'), inputs: [{ name: 'x', type: 'any', value: 3, required: true }] };
    const g = ok(buildTaskGraph([node('a', [], ['x']), withValue]));
    expect(g.preds[1]).toEqual([]);
    expect(g.inputSources[1]!['x']).toEqual({ kind: 'literal' });
  });

  it('adds explicit dependencies as edges', () => {
    const g = ok(buildTaskGraph([node('a'), node('b')], [{ dependentTask: 'a', dependsOn: ['b'], type: 'sequential' }]));
    expect(g.order.map((i) => g.ids[i])).toEqual(['b', 'a']);
  });

  it('rejects a cycle and names the subtasks on it, in order', () => {
    const e = err(buildTaskGraph([node('a', ['z'], ['x']), node('b', ['x'], ['y']), node('c', ['y'], ['z']), node('d')]));
    expect(e.code).toBe('INVALID_TASK');
    expect(e.category).toBe('VALIDATION');
    expect(issueLines(e)).toEqual([
      'task.subtasks: dependency cycle: a → b → c → a; a subtask cannot (indirectly) wait for its own output',
    ]);
  });

  it('names a cycle made by explicit dependencies, and a self-dependency', () => {
    const e = err(
      buildTaskGraph([node('a'), node('b'), node('c')], [
        { dependentTask: 'b', dependsOn: ['c'], type: 'sequential' },
        { dependentTask: 'c', dependsOn: ['b'], type: 'sequential' },
        { dependentTask: 'a', dependsOn: ['a'], type: 'sequential' },
      ]),
    );
    const lines = issueLines(e);
    expect(lines).toHaveLength(2);
    expect(lines.some((l) => l.includes('a → a'))).toBe(true);
    expect(lines.some((l) => l.includes('b → c → b'))).toBe(true);
  });

  it('never feeds a subtask from itself: x in and x out reads an upstream x', () => {
    const g = ok(buildTaskGraph([node('a', [], ['x']), node('b', ['x'], ['x']), node('c', ['x'])]));
    expect(g.inputSources[1]!['x']).toEqual({ kind: 'upstream', producers: ['a'] });
    expect(g.inputSources[2]!['x']).toEqual({ kind: 'upstream', producers: ['a', 'b'] });
    expect(issueLines(err(buildTaskGraph([node('t', ['x'], ['x'])])))[0]).toContain("input 'x' of subtask 't' is produced by no subtask");
  });

  it('rejects duplicate ids, naming both places', () => {
    const e = err(buildTaskGraph([node('a'), node('b'), node('a')]));
    expect(issueLines(e)).toEqual(["task.subtasks[2].id: duplicate subtask id 'a' (first at task.subtasks[0])"]);
  });

  it('rejects a required input nothing produces, naming subtask and input', () => {
    const e = err(buildTaskGraph([node('a', ['missing'])]));
    expect(issueLines(e)[0]).toMatch(/^task\.subtasks\[0\]\.inputs\[0\]: input 'missing' of subtask 'a' is produced by no subtask/);
  });

  it('allows an optional input nothing produces', () => {
    const optional: Node = { ...node('a'), inputs: [{ name: 'hint', type: 'any', value: null, required: false }] };
    ok(buildTaskGraph([optional]));
  });

  it('rejects dependencies on unknown subtasks', () => {
    const e = err(buildTaskGraph([node('a')], [{ dependentTask: 'ghost', dependsOn: ['a', 'phantom'], type: 'data' }]));
    expect(issueLines(e)).toEqual([
      "task.dependencies[0].dependentTask: unknown subtask 'ghost'",
      "task.dependencies[0].dependsOn[1]: unknown subtask 'phantom'",
    ]);
  });

  it('collects every DAG problem in one error', () => {
    const e = err(buildTaskGraph([node('a', ['b-out'], ['a-out']), node('b', ['a-out'], ['b-out']), node('a'), node('c', ['nope'])]));
    expect(issueLines(e)).toHaveLength(3);
  });

  it('handles a 10,000-deep chain without overflowing the stack', () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => node(`s${i}`, i === 0 ? [] : [`o${i - 1}`], [`o${i}`]));
    const g = ok(buildTaskGraph(chain));
    expect(g.order[9999]).toBe(9999);
    const cyclic = [...chain.slice(1), node('s0', ['o9999'], ['o0'])];
    const e = err(buildTaskGraph(cyclic));
    const line = issueLines(e)[0]!;
    expect(line).toContain('s1 → s2 → s3');
    expect(line).toContain('s9999 → s0 → s1;');
    expect(line.length).toBeLessThan(300);
  });
});

describe('criticalPath', () => {
  it('is the longest chain of estimated durations', () => {
    const g = ok(buildTaskGraph([node('a', [], ['x']), node('b', ['x'], ['y']), node('c', ['x'], ['z']), node('d', ['y', 'z'])]));
    expect(criticalPath(g, [10, 5, 30, 1])).toEqual({ length: 41, path: ['a', 'c', 'd'] });
    expect(criticalPath(ok(buildTaskGraph([])), [])).toEqual({ length: 0, path: [] });
  });
});

describe('parseTask', () => {
  it('runs the DAG checks after the schema', () => {
    const e = err(parseTask({ id: 't', subtasks: [{ id: 'a', inputs: [{ name: 'q', value: null }] }] }));
    expect(e.message).toMatch(/^task is invalid \(1 problem\)/);
  });
});
