import { describe, expect, it } from 'vitest';
import { LineDecoder, encodeLine, parseLine } from '../src/protocol/framing.js';
import { isParentMessage } from '../src/protocol/guard.js';
import { ChildMessage, ParentMessage } from '../src/protocol/messages.js';

const b = { __qicoord: 1 } as const;

const validParent: unknown[] = [
  { ...b, type: 'init', agentId: 'a1', pluginPath: '/p.mjs', workspace: '/w', grants: { read: ['/w'], write: [] }, netGuard: { mode: 'deny-all', hosts: [] }, logLevel: 'warn' },
  { ...b, type: 'init', agentId: 'a1', pluginPath: '/p.mjs', workspace: '/w', grants: { read: ['/w'], write: [] }, netGuard: { mode: 'deny-all', hosts: [] }, logLevel: 'warn', maxConcurrency: 8 },
  { ...b, type: 'execute', subtask: { id: 's', parentTaskId: 't', description: '', expectedOutputs: [{ name: 'o', type: 'any', description: '' }], attempt: 1 }, inputs: { x: 1 } },
  { ...b, type: 'cancel', subtaskId: 's', reason: 'deadline' },
  { ...b, type: 'unqueue', subtaskId: 's' },
  { ...b, type: 'tool-result', callId: 0, result: { tag: 'success', value: 'text' } },
  { ...b, type: 'sync-release', callId: 3, result: { tag: 'failure', error: { code: 'SYNC_TIMEOUT', message: 'm', category: 'TIMEOUT', context: {} } } },
  { ...b, type: 'channel-reply', callId: 1, result: { tag: 'success', value: null } },
  { ...b, type: 'deliver', stream: 'topic', topic: 't', from: 'a2', body: { n: 1 } },
  { ...b, type: 'shutdown', reason: 'done' },
];

const invalidParent: unknown[] = [
  null,
  'execute',
  { type: 'shutdown', reason: 'no brand' },
  { __qicoord: 2, type: 'shutdown', reason: 'future version' },
  { ...b, type: 'launch-missiles' },
  { ...b, type: 'execute', subtask: { id: 's' }, inputs: {} },
  { ...b, type: 'tool-result', callId: -1, result: { tag: 'success', value: 1 } },
  { ...b, type: 'tool-result', callId: 1, result: { tag: 'maybe' } },
  { ...b, type: 'init', agentId: 'a', pluginPath: '/p', workspace: '/w', netGuard: 'deny' },
  { ...b, type: 'deliver', stream: 'carrier-pigeon', from: 'x', body: 1 },
  { ...b, type: 'toString' },
  { ...b, type: 'unqueue' },
  { ...b, type: 'init', agentId: 'a', pluginPath: '/p', workspace: '/w', grants: { read: [], write: [] }, netGuard: { mode: 'off', hosts: [] }, logLevel: 'warn', maxConcurrency: 0 },
  { ...b, type: 'init', agentId: 'a', pluginPath: '/p', workspace: '/w', grants: { read: [], write: [] }, netGuard: { mode: 'off', hosts: [] }, logLevel: 'warn', maxConcurrency: 65 },
  { ...b, type: 'init', agentId: 'a', pluginPath: '/p', workspace: '/w', grants: { read: [], write: [] }, netGuard: { mode: 'off', hosts: [] }, logLevel: 'warn', maxConcurrency: 2.5 },
];

describe('child-side guard agrees with the zod protocol schema', () => {
  it.each(validParent.map((m, i) => [i, m]))('accepts valid parent message %i', (_i, m) => {
    expect(ParentMessage.safeParse(m).success).toBe(true);
    expect(isParentMessage(m)).toBe(true);
  });
  it.each(invalidParent.map((m, i) => [i, m]))('rejects invalid parent message %i', (_i, m) => {
    expect(ParentMessage.safeParse(m).success).toBe(false);
    expect(isParentMessage(m)).toBe(false);
  });
});

describe('child messages are checked strictly', () => {
  it('accepts a result and rejects extra keys, wrong brands and oversized text', () => {
    expect(ChildMessage.safeParse({ ...b, type: 'result', subtaskId: 's', outputs: { a: 1 } }).success).toBe(true);
    expect(ChildMessage.safeParse({ ...b, type: 'result', subtaskId: 's', outputs: {}, extra: 1 }).success).toBe(false);
    expect(ChildMessage.safeParse({ __qicoord: 9, type: 'result', subtaskId: 's', outputs: {} }).success).toBe(false);
    expect(ChildMessage.safeParse({ ...b, type: 'log', level: 'info', msg: 'x'.repeat(70_000) }).success).toBe(false);
    expect(ChildMessage.safeParse({ ...b, type: 'progress', subtaskId: 's', fraction: 2 }).success).toBe(false);
  });

  it("a reentrant plugin's ready names its concurrency: an integer from 2 to 64", () => {
    const ready = (concurrency: unknown) => ({ ...b, type: 'ready', plugin: { name: 'p', type: 'basic', capabilities: [], concurrency } });
    expect(ChildMessage.safeParse(ready(2)).success).toBe(true);
    expect(ChildMessage.safeParse(ready(64)).success).toBe(true);
    for (const bad of [1, 0, 65, 2.5, '4', null]) expect(ChildMessage.safeParse(ready(bad)).success).toBe(false);
  });
});

describe('framing', () => {
  it('splits lines across chunks', () => {
    const d = new LineDecoder(100);
    expect(d.push(Buffer.from('{"a":1}\n{"b"'))).toEqual({ ok: true, lines: ['{"a":1}'] });
    expect(d.push(Buffer.from(':2}\n\n'))).toEqual({ ok: true, lines: ['{"b":2}', ''] });
  });

  it('refuses a line over the cap, even when it arrives in pieces without a newline', () => {
    const d = new LineDecoder(10);
    expect(d.push(Buffer.from('12345'))).toEqual({ ok: true, lines: [] });
    const split = d.push(Buffer.from('678901'));
    expect(split).toMatchObject({ ok: false, bytes: 11 });
    // What was buffered, up to the cap, for a diagnosis.
    expect(!split.ok && split.prefix().toString()).toBe('1234567890');
    const e = new LineDecoder(10);
    const whole = e.push(Buffer.from('12345678901\n'));
    expect(whole).toMatchObject({ ok: false, bytes: 11 });
    expect(!whole.ok && whole.prefix().toString()).toBe('1234567890');
  });

  it('encodes one line per message and parses it back', () => {
    const line = encodeLine({ a: 'x\ny' });
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1).includes('\n')).toBe(false);
    expect(parseLine(line.trim())).toEqual({ a: 'x\ny' });
  });

  it('never yields an own __proto__ key', () => {
    const parsed = parseLine('{"a":{"__proto__":{"polluted":1},"b":2}}') as { a: Record<string, unknown> };
    expect(Object.hasOwn(parsed.a, '__proto__')).toBe(false);
    expect(parsed.a['b']).toBe(2);
    const target: Record<string, unknown> = {};
    Object.assign(target, parsed.a);
    expect(target['polluted']).toBeUndefined();
  });
});
