import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { agentLogger, componentLogger, createRootLogger, logPerformance, redactSecrets, subtaskLogger } from '../src/logging/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logging', () => {
  it('child loggers carry component, agent and subtask bindings', () => {
    const out = capture();
    const root = createRootLogger({ level: 'info', destination: out.stream });
    subtaskLogger(agentLogger(componentLogger(root, 'execution'), 'agent-1', 'basic'), 'sub-a').info('started');
    expect(out.lines()[0]).toMatchObject({ component: 'execution', agentId: 'agent-1', agentType: 'basic', subtaskId: 'sub-a', msg: 'started' });
  });

  it('respects the level', () => {
    const out = capture();
    const root = createRootLogger({ level: 'warn', destination: out.stream });
    root.info('hidden');
    root.warn('shown');
    expect(out.lines().map((l) => l['msg'])).toEqual(['shown']);
  });

  it('redacts env values, token-like keys and configured keys', () => {
    const out = capture();
    const root = createRootLogger({ level: 'info', destination: out.stream, redact: ['customerId'] });
    root.info(
      {
        env: { HOME: '/root', AWS_SECRET: 'abc' },
        tool: 'fetch',
        args: { url: 'https://x', headers: { Authorization: 'Bearer s3cr3t' }, apiKey: 'k-123', accessToken: 't-1' },
        customerId: 'c-42',
        note: 'visible',
      },
      'tool call',
    );
    const line = out.lines()[0]!;
    const text = JSON.stringify(line);
    for (const secret of ['/root', 'abc', 's3cr3t', 'k-123', 't-1', 'c-42']) expect(text).not.toContain(secret);
    expect(line['note']).toBe('visible');
    expect(line['tool']).toBe('fetch');
    expect((line['args'] as Record<string, unknown>)['url']).toBe('https://x');
  });

  it('redactSecrets leaves its input unchanged', () => {
    const input = { password: 'p', nested: { token: 't' } };
    const out = redactSecrets(input);
    expect(out).toEqual({ password: '[redacted]', nested: { token: '[redacted]' } });
    expect(input.password).toBe('p');
  });

  it('logs performance records with structured metadata', () => {
    const out = capture();
    const root = createRootLogger({ level: 'info', destination: out.stream });
    logPerformance(root, 'distributeTask', 12.3456, true, { subtasks: 3 });
    logPerformance(root, 'spawn', 5, false);
    const [a, b] = out.lines();
    expect(a).toMatchObject({ operation: 'distributeTask', durationMs: 12.346, success: true, subtasks: 3, kind: 'performance', level: 30 });
    expect(b).toMatchObject({ operation: 'spawn', success: false, level: 30 });
  });
});
