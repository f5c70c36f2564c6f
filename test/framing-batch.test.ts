import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { channelOver } from '../sandbox/channel.js';
import { FrameWriter, MAX_BATCH_CHARS } from '../src/protocol/frame-writer.js';
import { LineDecoder } from '../src/protocol/framing.js';
import { inspectOversizedResult } from '../src/protocol/oversize.js';

/** A FrameWriter whose writes and deferred turn ends are recorded; `endTurn()` runs the deferred. */
function recorded(): { writer: FrameWriter; writes: string[]; endTurn: () => void } {
  const writes: string[] = [];
  let deferred: (() => void)[] = [];
  const writer = new FrameWriter(
    (text) => writes.push(text),
    (fn) => deferred.push(fn),
  );
  return {
    writer,
    writes,
    endTurn: () => {
      const run = deferred;
      deferred = [];
      for (const fn of run) fn();
    },
  };
}

describe('FrameWriter', () => {
  it('writes the first frame of a turn at once and the rest of the turn in one write, in order', () => {
    const { writer, writes, endTurn } = recorded();
    writer.push('a\n');
    expect(writes).toEqual(['a\n']);
    writer.push('b\n');
    writer.push('c\n');
    expect(writes).toEqual(['a\n']);
    expect(writer.pending).toBe(2);
    endTurn();
    expect(writes).toEqual(['a\n', 'b\nc\n']);
    // A new turn: its first frame goes at once again.
    writer.push('d\n');
    expect(writes).toEqual(['a\n', 'b\nc\n', 'd\n']);
    endTurn();
    expect(writes).toHaveLength(3);
  });

  it('flushes early once the queued text reaches the batch cap, and on demand', () => {
    const { writer, writes, endTurn } = recorded();
    writer.push('first\n');
    const big = `${'x'.repeat(MAX_BATCH_CHARS)}\n`;
    writer.push(big);
    expect(writes).toEqual(['first\n', big]);
    writer.push('after\n');
    writer.flush();
    expect(writes).toEqual(['first\n', big, 'after\n']);
    endTurn();
    expect(writes).toHaveLength(3);
  });

  it('runs the before-write hook right before each write: the first frame of a turn, then once for the batch at its end', () => {
    const { writer, writes, endTurn } = recorded();
    const log: string[] = [];
    writer.beforeWrite(() => log.push(`hook after ${writes.length} writes`));
    writer.push('a\n');
    expect(log).toEqual(['hook after 0 writes']);
    expect(writes).toEqual(['a\n']);
    // Queued frames do not run it; their one write at the end of the turn does, once.
    writer.push('b\n');
    writer.push('c\n');
    expect(log).toHaveLength(1);
    endTurn();
    expect(log).toEqual(['hook after 0 writes', 'hook after 1 writes']);
    expect(writes).toEqual(['a\n', 'b\nc\n']);
    // A flush with nothing queued writes nothing and runs nothing.
    writer.flush();
    expect(log).toHaveLength(2);
  });

  it('runs the hook before an early flush at the batch cap and before a flush on demand; a new hook replaces the old, undefined removes it', () => {
    const { writer, writes } = recorded();
    let first = 0;
    let second = 0;
    writer.beforeWrite(() => first++);
    writer.push('x\n');
    writer.push(`${'y'.repeat(MAX_BATCH_CHARS)}\n`);
    expect(writes).toHaveLength(2);
    expect(first).toBe(2);
    writer.beforeWrite(() => second++);
    writer.push('z\n');
    writer.flush();
    expect(writes).toHaveLength(3);
    expect([first, second]).toEqual([2, 1]);
    writer.beforeWrite(undefined);
    writer.push('w\n');
    writer.flush();
    expect(writes).toHaveLength(4);
    expect([first, second]).toEqual([2, 1]);
  });

  it("a batch decodes into the same messages, each checked against the cap on its own", () => {
    const { writer, writes, endTurn } = recorded();
    for (const line of ['{"n":1}\n', '{"n":2}\n', '{"n":3}\n']) writer.push(line);
    endTurn();
    const decoder = new LineDecoder(7);
    const lines = writes.flatMap((w) => {
      const d = decoder.push(Buffer.from(w));
      return d.ok ? d.lines : [];
    });
    expect(lines).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    // One message over the cap in a batch is refused as it would be alone.
    const strict = new LineDecoder(7);
    expect(strict.push(Buffer.from('{"n":1}\n{"n":22}\n'))).toMatchObject({ ok: false, bytes: 8 });
  });
});

/** A stream whose writes are recorded (and not read back: the channel reads its own end). */
function recordingPipe(): { pipe: PassThrough; chunks: string[] } {
  const pipe = new PassThrough();
  const chunks: string[] = [];
  pipe.write = ((chunk: string) => chunks.push(chunk) > 0) as typeof pipe.write;
  return { pipe, chunks };
}

describe("the child's channel", () => {
  it('coalesces the messages of one turn into fewer writes and keeps their order', async () => {
    const { pipe, chunks } = recordingPipe();
    const channel = channelOver(pipe, () => undefined);
    for (let i = 0; i < 5; i++) channel.send({ type: 'progress', subtaskId: 's', fraction: i / 10 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(chunks).toHaveLength(2);
    const fractions = chunks.join('').trim().split('\n').map((l) => (JSON.parse(l) as { fraction: number }).fraction);
    expect(fractions).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
  });

  it('flush writes what waits for the end of the turn (an exit right after a send loses nothing)', () => {
    const { pipe, chunks } = recordingPipe();
    const channel = channelOver(pipe, () => undefined);
    channel.send({ type: 'log', level: 'info', msg: 'one' });
    channel.send({ type: 'error', subtaskId: 's', error: { code: 'INTERNAL', message: 'fatal', category: 'SYSTEM', context: {} } });
    expect(chunks).toHaveLength(1);
    channel.flush();
    const text = chunks.join('');
    expect(text.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type)).toEqual(['log', 'error']);
  });
});

describe('inspectOversizedResult', () => {
  const frame = (outputs: string): Buffer => Buffer.from(`{"__qicoord":1,"type":"result","subtaskId":"sum-\\"7\\"","outputs":{${outputs}`);

  it('names the subtask and the largest output, marking one cut off by the cap', () => {
    const r = inspectOversizedResult(frame(`"small":{"a":[1,2,"}]"]},"big":"${'x'.repeat(5000)}`));
    expect(r).toEqual({ subtaskId: 'sum-"7"', output: { name: 'big', bytes: 5001, atLeast: true } });
  });

  it('a complete larger output before the cut wins', () => {
    const r = inspectOversizedResult(frame(`"big":[${'1,'.repeat(3000)}1],"tail":"abc`));
    expect(r?.output).toMatchObject({ name: 'big', atLeast: false });
    expect(r?.output?.bytes).toBe(6003);
  });

  it('names taken from the child lose control characters and are capped', () => {
    const r = inspectOversizedResult(Buffer.from(`{"__qicoord":1,"type":"result","subtaskId":"a\\u001b[31mb","outputs":{"${'n'.repeat(300)}\\n":"${'x'.repeat(50)}`));
    expect(r?.subtaskId).toBe('a?[31mb');
    expect(r?.output?.name).toBe('n'.repeat(200));
  });

  it('other messages and layouts are not diagnosed', () => {
    expect(inspectOversizedResult(Buffer.from(`{"__qicoord":1,"type":"log","level":"info","msg":"${'x'.repeat(100)}`))).toBeUndefined();
    expect(inspectOversizedResult(Buffer.from('x'.repeat(100)))).toBeUndefined();
    expect(inspectOversizedResult(frame(''))).toEqual({ subtaskId: 'sum-"7"' });
  });
});

describe('the fast check of result messages', () => {
  const valid = { __qicoord: 1, type: 'result', subtaskId: 's1', outputs: { a: 1, b: { c: [1, 'x'] } } };
  const samples: unknown[] = [
    valid,
    { ...valid, outputs: {} },
    { ...valid, subtaskId: 'x'.repeat(200) },
    { ...valid, subtaskId: 'x'.repeat(201) },
    { ...valid, subtaskId: '' },
    { ...valid, subtaskId: 7 },
    { ...valid, outputs: [] },
    { ...valid, outputs: null },
    { ...valid, outputs: 'x' },
    { ...valid, extra: true },
    { ...valid, __qicoord: 2 },
    { ...valid, type: 'error' },
    { __qicoord: 1, type: 'result', subtaskId: 's1' },
    { __qicoord: 1, type: 'result', outputs: {} },
    Object.assign(Object.create({ inherited: 1 }) as object, valid),
    null,
    [],
    'result',
  ];

  it.each(samples.map((s, i) => [i, s]))('sample %i: accepted only where the schema accepts it', async (_, sample) => {
    const { isPlainResult } = await import('../src/protocol/result-shape.js');
    const { ChildMessage } = await import('../src/protocol/messages.js');
    if (isPlainResult(sample)) expect(ChildMessage.safeParse(sample).success).toBe(true);
  });

  it('accepts the well-formed result a child sends', async () => {
    const { isPlainResult } = await import('../src/protocol/result-shape.js');
    expect(isPlainResult(JSON.parse(JSON.stringify(valid)))).toBe(true);
    expect(isPlainResult({ ...valid, subtaskId: 'x'.repeat(201) })).toBe(false);
    expect(isPlainResult({ ...valid, extra: 1 })).toBe(false);
  });
});
