/**
 * The coordinator's end of a remote session, in process: relayed agent messages get the same
 * checks as a local child's, tool calls never act here, and the end is recorded once.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChildMessage } from '../../src/protocol/messages.js';
import type { QiError } from '@qi/base';
import { RemoteConnection } from '../../src/remote/connection.js';

function connection(lockMs = 50) {
  const sent: { kind: string; data: string }[] = [];
  const got: ChildMessage[] = [];
  const violations: QiError[] = [];
  let endedCalls = 0;
  const c = new RemoteConnection({
    agentId: 'agent-1',
    session: 's-1',
    started: { worker: 'w-1', host: 'h', plugin: { name: 'p', type: 'basic', capabilities: [] }, boundary: { workspace: '/w', layers: ['x'], isolationLevel: 'restricted' }, baselineMB: 40 },
    startMs: 5,
    limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 1000 },
    maxOutputBytes: 10_000,
    logger: pino({ level: 'silent' }),
    lockMs,
    send: (kind, data) => sent.push({ kind, data }),
    onEnded: () => endedCalls++,
  });
  c.messages({ message: (m) => got.push(m), violation: (e) => violations.push(e) });
  return { c, sent, got, violations, endedCalls: () => endedCalls };
}

const line = (m: Record<string, unknown>): string => JSON.stringify({ __qicoord: 1, ...m });

describe('RemoteConnection', () => {
  it('hands on checked messages in order; the boundary names the worker; sends go to the worker', () => {
    const { c, sent, got } = connection();
    c.receive(line({ type: 'progress', subtaskId: 't', fraction: 0.5 }));
    c.receive(line({ type: 'result', subtaskId: 't', outputs: { x: 1 } }));
    expect(got.map((m) => m.type)).toEqual(['progress', 'result']);
    expect(c.boundary.layers).toEqual(['x', 'worker:h']);
    expect(c.pid).toBeUndefined();
    expect(c.send({ type: 'cancel', subtaskId: 't', reason: 'r' })).toBe(true);
    expect(sent).toEqual([{ kind: 'm', data: line({ type: 'cancel', subtaskId: 't', reason: 'r' }) }]);
  });

  it.each([
    ['oversized', 'x'.repeat(2000)],
    ['not JSON', '{nope'],
    ['not in the protocol', line({ type: 'launch-missiles' })],
    ['a tool call (tools run on the worker only)', line({ type: 'tool-call', callId: 1, subtaskId: 't', name: 'execute', args: { command: 'rm' } })],
  ])('a relayed message that is %s is a violation, and nothing of it is handed on', (_name, raw) => {
    const { c, got, violations } = connection();
    c.receive(raw);
    expect(got).toEqual([]);
    expect(violations.map((v) => v.code)).toEqual(['INVALID_MESSAGE']);
  });

  it("the worker's end report is the end; later ones and later messages change nothing", async () => {
    const { c, got, endedCalls } = connection();
    c.end({ exitCode: 0, signal: null, stderrTail: '' });
    c.lose('too late');
    c.receive(line({ type: 'progress', subtaskId: 't', fraction: 1 }));
    expect(await c.ended).toEqual({ reason: 'exited', exitCode: 0, signal: null, stderrTail: '' });
    expect(c.alive).toBe(false);
    expect(c.send({ type: 'cancel', subtaskId: 't', reason: 'r' })).toBe(false);
    expect(got).toEqual([]);
    expect(endedCalls()).toBe(1);
  });

  it('a stop the worker never confirms ends the agent as lost', async () => {
    const { c, sent } = connection(20);
    const end = await c.stop('done', 10);
    expect(sent.map((s) => s.kind)).toEqual(['stop']);
    expect(JSON.parse(sent[0]!.data)).toEqual({ reason: 'done', graceMs: 10, immediate: false });
    expect(end).toMatchObject({ reason: 'lost', exitCode: null });
    expect(end.stderrTail).toContain('did not confirm the stop');
  });

  it("a drained worker's end is 'lost' (the failure strategy reruns a running subtask)", async () => {
    const { c } = connection();
    c.end({ exitCode: 0, signal: null, stderrTail: '', lost: true });
    expect((await c.ended).reason).toBe('lost');
  });
});
