import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTaskFile } from '../src/index.js';
import { err, issueLines, ok, tempProject, writeFiles } from './helpers.js';

const fixture = (name: string): string => path.join(import.meta.dirname, 'fixtures/tasks', name);

describe('loadTaskFile', () => {
  it('reads YAML into { task, strategy }', async () => {
    const loaded = ok(await loadTaskFile(fixture('good.yaml')));
    expect(loaded.task.id).toBe('audit');
    expect(loaded.task.subtasks?.map((s) => s.id)).toEqual(['count-src', 'count-test', 'report']);
    expect(loaded.task.subtasks?.[0]?.parentTaskId).toBe('audit');
    expect(loaded.strategy).toEqual({ type: 'hybrid', maxConcurrentAgents: 2 });
    expect(loaded.path).toBe(fixture('good.yaml'));
  });

  it('reads JSON', async () => {
    const loaded = ok(await loadTaskFile(fixture('good.json')));
    expect(loaded.task.subtasks?.[1]?.inputs[0]).toEqual({ name: 'x', type: 'any', value: null, required: true });
    expect(loaded.strategy).toBeUndefined();
  });

  it('rejects a cycle, naming the subtasks', async () => {
    const e = err(await loadTaskFile(fixture('cycle.yaml')));
    expect(e.code).toBe('INVALID_TASK');
    expect(issueLines(e)[0]).toContain('a → b → c → a');
    expect(e.context['filepath']).toBe(fixture('cycle.yaml'));
  });

  it('lists every schema problem with its path', async () => {
    const e = err(await loadTaskFile(fixture('many-problems.yaml')));
    expect(issueLines(e).sort()).toEqual([
      'strategy.maxConcurrentAgents: expected a positive number',
      'task.priority: expected one of "low", "medium", "high", "critical", got "urgent"',
      'task.subtasks[0].executionConstraints.maxDuration: expected a positive number',
      'task.subtasks[0].executionConstraints.maxMemory: expected a positive number',
      "task.subtasks[1].expectedOutput: unknown key (did you mean 'expectedOutputs'?)",
    ]);
  });

  it('reports a YAML syntax error with its position', async () => {
    const dir = tempProject();
    writeFiles(dir, { 'bad.yaml': 'task:\n  id: x\n   subtasks: [\n' });
    const e = err(await loadTaskFile(path.join(dir, 'bad.yaml')));
    expect(e.code).toBe('INVALID_TASK');
    expect(e.message).toMatch(/\(3:\d+\)/);
  });

  it('reports a JSON syntax error', async () => {
    const dir = tempProject();
    writeFiles(dir, { 'bad.json': '{"task": ' });
    expect(err(await loadTaskFile(path.join(dir, 'bad.json'))).code).toBe('INVALID_TASK');
  });

  it('reports a missing file as FILE_NOT_FOUND', async () => {
    const e = err(await loadTaskFile('/nonexistent/task.yaml'));
    expect(e.code).toBe('FILE_NOT_FOUND');
    expect(e.category).toBe('VALIDATION');
  });
});
