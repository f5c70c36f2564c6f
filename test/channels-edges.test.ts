/**
 * Channel router edge cases not covered by channels.test.ts: agents that register after their
 * subtask was bound or whose delivery fails, limits, names that are not strings, and calls after
 * close.
 */
import { describe, expect, it } from 'vitest';
import { ChannelRouter, type Delivery } from '../src/channels/index.js';
import { checkName, encodeBody } from '../src/channels/payload.js';
import { err, ok } from './helpers.js';

function router(maxBufferedPerTarget?: number): ChannelRouter {
  return new ChannelRouter({ maxMessageBytes: 1024, ...(maxBufferedPerTarget === undefined ? {} : { maxBufferedPerTarget }) });
}

describe('direct messages: late and failing agents', () => {
  it('a subtask bound before its agent registered gets its buffered messages, in order, when it registers', () => {
    const r = router();
    r.declareSubtasks(['job']);
    ok(r.send('x', 'job', 1));
    r.bindSubtask('job', 'late-agent');
    ok(r.send('x', 'job', 2));
    const got: unknown[] = [];
    r.register('late-agent', (d) => got.push(d.body));
    expect(got).toEqual([1, 2]);
    ok(r.send('x', 'job', 3));
    expect(got).toEqual([1, 2, 3]);
  });

  it('a delivery that throws is INTERNAL naming the target and the reason', () => {
    const r = router();
    r.register('broken', () => {
      throw new Error('channel closed');
    });
    r.register('odd', () => {
      throw 'plain text';
    });
    expect(err(r.send('x', 'broken', 1))).toMatchObject({ code: 'INTERNAL', message: "delivering to 'broken' failed: channel closed" });
    expect(err(r.send('x', 'odd', 1)).message).toBe("delivering to 'odd' failed: plain text");
  });

  it('a buffer flush stops at a failing delivery and keeps the rest for the next agent', () => {
    const r = router();
    r.declareSubtasks(['job']);
    for (const n of [1, 2, 3]) ok(r.send('x', 'job', n));
    r.register('dying', () => {
      throw new Error('gone');
    });
    r.bindSubtask('job', 'dying');
    r.unregister('dying');
    const got: unknown[] = [];
    r.register('next', (d) => got.push(d.body));
    r.bindSubtask('job', 'next');
    expect(got).toEqual([1, 2, 3]);
  });
});

describe('limits and validation', () => {
  it('a full queue refuses pushes with INSUFFICIENT_RESOURCES; a body that is not JSON is INVALID_MESSAGE', () => {
    const r = router(2);
    ok(r.queuePush('a', 'q', 1));
    ok(r.queuePush('a', 'q', 2));
    expect(err(r.queuePush('a', 'q', 3))).toMatchObject({ code: 'INSUFFICIENT_RESOURCES', context: { queue: 'q', maxBufferedPerTarget: 2 } });
    expect(err(r.queuePush('a', 'other', () => 1)).code).toBe('INVALID_MESSAGE');
    expect(r.stats().queue.pushed).toBe(2);
  });

  it('publishing a body that is not JSON is INVALID_MESSAGE and reaches nobody', () => {
    const r = router();
    const got: Delivery[] = [];
    r.register('b', (d) => got.push(d));
    ok(r.subscribe('b', 'news'));
    expect(err(r.publish('a', 'news', { n: Number.NaN })).code).toBe('INVALID_MESSAGE');
    expect(got).toEqual([]);
    expect(r.stats().topic.messages).toBe(0);
  });

  it('a body whose toJSON throws, and topic or queue names that are not strings, are named in the error', () => {
    const thrower = { toJSON: (): never => { throw 'refused'; } };
    expect(err(encodeBody(thrower, 100, 'test message')).message).toBe('test message: the body is not JSON-serializable (refused)');
    expect(err(checkName('topic', 42))).toMatchObject({ code: 'INVALID_MESSAGE', context: { topic: 42 } });
    expect(err(checkName('queue', 42)).message).toContain('(got number)');
    expect(err(checkName('queue', 'x'.repeat(201))).message).toContain('(got 201 characters)');
  });

  it('the router needs positive limits', () => {
    expect(() => new ChannelRouter({ maxMessageBytes: 0 })).toThrow(RangeError);
    expect(() => new ChannelRouter({ maxMessageBytes: 10, maxBufferedPerTarget: 0 })).toThrow(RangeError);
  });
});

describe('topics and queues: bookkeeping', () => {
  it('unsubscribing what was never subscribed changes nothing; after close, subscribe and publish are CANCELLED', () => {
    const r = router();
    const got: unknown[] = [];
    r.register('b', (d) => got.push(d.body));
    r.unsubscribe('b', 'never');
    r.unsubscribe('nobody', 'news');
    ok(r.subscribe('b', 'news'));
    expect(ok(r.publish('a', 'news', 1))).toBe(1);
    r.close();
    expect(err(r.subscribe('b', 'news')).code).toBe('CANCELLED');
    expect(err(r.publish('a', 'news', 2)).code).toBe('CANCELLED');
    expect(got).toEqual([1]);
  });

  it('an agent that goes away gives back only the messages it held, not those others hold', async () => {
    const r = router();
    for (const id of ['b', 'c', 'd']) r.register(id, () => undefined);
    ok(r.queuePush('a', 'q', 'for b'));
    ok(r.queuePush('a', 'q', 'for c'));
    const b = ok(await r.queuePull('b', 'q'));
    const c = ok(await r.queuePull('c', 'q'));
    r.unregister('c');
    expect(ok(await r.queuePull('d', 'q', 0))).toEqual({ id: c?.id, body: 'for c' });
    ok(r.queueAck('b', 'q', b?.id ?? ''));
    expect(r.stats().queue.redelivered).toBe(1);
  });

  it('a pull with a timeout is served by a push that comes before it', async () => {
    const r = router();
    r.register('b', () => undefined);
    const pending = r.queuePull('b', 'q', 60_000);
    ok(r.queuePush('a', 'q', 'just in time'));
    expect(ok(await pending)?.body).toBe('just in time');
  });
});
