import { describe, expect, it } from 'vitest';
import { ChannelRouter } from '../src/channels/index.js';
import type { ChannelEvent, Delivery } from '../src/channels/index.js';
import { err, ok } from './helpers.js';

/** A router with agents whose deliveries are collected per agent. */
function setup(agentIds: readonly string[] = ['a', 'b', 'c'], maxBufferedPerTarget?: number) {
  const events: ChannelEvent[] = [];
  const inbox = new Map<string, Delivery[]>();
  const router = new ChannelRouter({
    maxMessageBytes: 1024,
    onEvent: (e) => events.push(e),
    now: () => 42,
    ...(maxBufferedPerTarget === undefined ? {} : { maxBufferedPerTarget }),
  });
  const register = (id: string): void => {
    inbox.set(id, inbox.get(id) ?? []);
    router.register(id, (d) => inbox.get(id)?.push(d));
  };
  for (const id of agentIds) register(id);
  const got = (id: string): Delivery[] => inbox.get(id) ?? [];
  return { router, events, got, register };
}

describe('ChannelRouter: direct messages', () => {
  it('delivers to an agent id', () => {
    const { router, got, events } = setup();
    ok(router.send('a', 'b', { hello: 1 }));
    expect(got('b')).toEqual([{ stream: 'direct', from: 'a', body: { hello: 1 } }]);
    expect(got('a')).toEqual([]);
    expect(events).toEqual([{ type: 'message', kind: 'direct', from: 'a', to: 'b', bytes: 11, at: 42 }]);
  });

  it('buffers for a declared subtask until it is bound, then delivers in order', () => {
    const { router, got } = setup();
    router.declareSubtasks(['st-1']);
    ok(router.send('a', 'st-1', 1));
    ok(router.send('a', 'st-1', 2));
    expect(got('c')).toEqual([]);
    router.bindSubtask('st-1', 'c');
    expect(got('c').map((d) => d.body)).toEqual([1, 2]);
    ok(router.send('b', 'st-1', 3));
    expect(got('c').map((d) => d.body)).toEqual([1, 2, 3]);
    router.unbindSubtask('st-1');
    ok(router.send('b', 'st-1', 4));
    expect(got('c')).toHaveLength(3);
  });

  it('re-buffers for a subtask whose agent was unregistered, until it is bound again', () => {
    const { router, got } = setup();
    router.declareSubtasks(['st-1']);
    router.bindSubtask('st-1', 'b');
    router.unregister('b');
    ok(router.send('a', 'st-1', 'retry'));
    router.bindSubtask('st-1', 'c');
    expect(got('c').map((d) => d.body)).toEqual(['retry']);
  });

  it('bounds the buffer of a subtask that is not running', () => {
    const { router } = setup(['a'], 2);
    router.declareSubtasks(['st-1']);
    ok(router.send('a', 'st-1', 1));
    ok(router.send('a', 'st-1', 2));
    const e = err(router.send('a', 'st-1', 3));
    expect(e.code).toBe('INSUFFICIENT_RESOURCES');
    expect(e.category).toBe('RESOURCE');
  });

  it('fails with NOT_FOUND for an unknown target', () => {
    const { router, events } = setup();
    const e = err(router.send('a', 'nobody', 1));
    expect(e.code).toBe('NOT_FOUND');
    expect(events).toEqual([]);
  });

  it('rejects a message over the size cap with INVALID_MESSAGE, without delivering it', () => {
    const { router, got } = setup();
    const e = err(router.send('a', 'b', 'x'.repeat(2000)));
    expect(e.code).toBe('INVALID_MESSAGE');
    expect(e.context['bytes']).toBe(2002);
    expect(got('b')).toEqual([]);
    ok(router.send('a', 'b', 'x'.repeat(1022)));
    expect(got('b')).toHaveLength(1);
  });

  it('rejects bodies that are not JSON data', () => {
    const { router, got } = setup();
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const body of [cyclic, () => 1, { f: () => 1 }, 10n, undefined, Symbol('s'), Number.NaN]) {
      expect(err(router.send('a', 'b', body)).code).toBe('INVALID_MESSAGE');
    }
    expect(got('b')).toEqual([]);
  });

  it('keeps one sender’s order to one target over 1,000 messages', () => {
    const { router, got } = setup();
    router.declareSubtasks(['st-1']);
    for (let i = 0; i < 1000; i++) {
      ok(router.send('a', 'b', i));
      ok(router.send('a', 'st-1', i));
    }
    router.bindSubtask('st-1', 'c');
    const expected = Array.from({ length: 1000 }, (_, i) => i);
    expect(got('b').map((d) => d.body)).toEqual(expected);
    expect(got('c').map((d) => d.body)).toEqual(expected);
  });

  it('gives each recipient its own copy', () => {
    const { router, got } = setup();
    const body = { list: [1, 2], nested: { v: 'x' } };
    ok(router.subscribe('b', 't'));
    ok(router.subscribe('c', 't'));
    ok(router.publish('a', 't', body));
    const [forB] = got('b');
    const [forC] = got('c');
    (forB?.body as { list: number[] }).list.push(3);
    expect(forC?.body).toEqual({ list: [1, 2], nested: { v: 'x' } });
    expect(body.list).toEqual([1, 2]);
    expect(forB?.body).not.toBe(body);
  });
});

describe('ChannelRouter: topics', () => {
  it('publishes to subscribers only: not the publisher, not after unsubscribe, not to a dead agent', () => {
    const { router, got, register } = setup(['a', 'b', 'c', 'd']);
    for (const id of ['a', 'b', 'c', 'd']) ok(router.subscribe(id, 'news'));
    expect(ok(router.publish('a', 'news', 1))).toBe(3);
    router.unsubscribe('b', 'news');
    router.unregister('c');
    expect(ok(router.publish('a', 'news', 2))).toBe(1);
    expect(ok(router.publish('a', 'other', 3))).toBe(0);
    register('c');
    expect(ok(router.publish('a', 'news', 4))).toBe(1);
    expect(got('a')).toEqual([]);
    expect(got('b').map((d) => d.body)).toEqual([1]);
    expect(got('c').map((d) => d.body)).toEqual([1]);
    expect(got('d')).toEqual([
      { stream: 'topic', topic: 'news', from: 'a', body: 1 },
      { stream: 'topic', topic: 'news', from: 'a', body: 2 },
      { stream: 'topic', topic: 'news', from: 'a', body: 4 },
    ]);
  });

  it('keeps publish order over 1,000 messages', () => {
    const { router, got } = setup();
    ok(router.subscribe('b', 'seq'));
    for (let i = 0; i < 1000; i++) ok(router.publish('a', 'seq', i));
    expect(got('b').map((d) => d.body)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('validates topic names and subscribers', () => {
    const { router } = setup();
    expect(err(router.subscribe('a', '')).code).toBe('INVALID_MESSAGE');
    expect(err(router.publish('a', 'x'.repeat(201), 1)).code).toBe('INVALID_MESSAGE');
    ok(router.subscribe('a', 'x'.repeat(200)));
    expect(err(router.subscribe('ghost', 't')).code).toBe('NOT_FOUND');
  });
});

describe('ChannelRouter: queues', () => {
  it('pushes, pulls in order and acks with deterministic ids', async () => {
    const { router, events } = setup();
    ok(router.queuePush('a', 'jobs', { n: 1 }));
    ok(router.queuePush('a', 'jobs', { n: 2 }));
    const first = ok(await router.queuePull('b', 'jobs'));
    const second = ok(await router.queuePull('c', 'jobs', 10));
    expect(first).toEqual({ id: 'q-jobs-1', body: { n: 1 } });
    expect(second).toEqual({ id: 'q-jobs-2', body: { n: 2 } });
    ok(router.queueAck('b', 'jobs', 'q-jobs-1'));
    expect(err(router.queueAck('b', 'jobs', 'q-jobs-1')).code).toBe('NOT_FOUND');
    expect(events.filter((e) => e.type === 'message' && e.kind === 'queue')).toHaveLength(2);
  });

  it('keeps push order over 1,000 messages', async () => {
    const { router } = setup();
    for (let i = 0; i < 1000; i++) ok(router.queuePush('a', 'q', i));
    const bodies: unknown[] = [];
    for (let i = 0; i < 1000; i++) bodies.push(ok(await router.queuePull('b', 'q', 0))?.body);
    expect(bodies).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(ok(await router.queuePull('b', 'q', 0))).toBeNull();
  });

  it('a pull waits for a later push', async () => {
    const { router } = setup();
    const pending = router.queuePull('b', 'jobs');
    ok(router.queuePush('a', 'jobs', 'late'));
    expect(ok(await pending)).toEqual({ id: 'q-jobs-1', body: 'late' });
  });

  it('a pull that times out resolves with null', async () => {
    const { router } = setup();
    expect(ok(await router.queuePull('b', 'jobs', 20))).toBeNull();
    ok(router.queuePush('a', 'jobs', 'kept'));
    expect(ok(await router.queuePull('c', 'jobs', 20))?.body).toBe('kept');
  });

  it('serves waiting pullers first come, first served', async () => {
    const { router } = setup();
    const fromB = router.queuePull('b', 'jobs');
    const fromC = router.queuePull('c', 'jobs');
    ok(router.queuePush('a', 'jobs', 'one'));
    ok(router.queuePush('a', 'jobs', 'two'));
    expect(ok(await fromB)?.body).toBe('one');
    expect(ok(await fromC)?.body).toBe('two');
  });

  it('redelivers an unacked message of an unregistered agent to the next puller', async () => {
    const { router, events } = setup();
    ok(router.queuePush('a', 'jobs', 'first'));
    ok(router.queuePush('a', 'jobs', 'second'));
    const held = ok(await router.queuePull('b', 'jobs'));
    expect(held?.id).toBe('q-jobs-1');
    router.unregister('b');
    expect(events).toContainEqual({ type: 'redeliver', queue: 'jobs', messageId: 'q-jobs-1', from: 'b', at: 42 });
    const again = ok(await router.queuePull('c', 'jobs'));
    expect(again).toEqual({ id: 'q-jobs-1', body: 'first' });
    expect(ok(await router.queuePull('c', 'jobs'))?.id).toBe('q-jobs-2');
    expect(err(router.queueAck('b', 'jobs', 'q-jobs-1')).code).toBe('NOT_FOUND');
    ok(router.queueAck('c', 'jobs', 'q-jobs-1'));
    expect(router.stats().queue).toEqual({ pushed: 2, delivered: 3, acked: 1, redelivered: 1, bytes: 15 });
  });

  it('hands a redelivered message to a puller already waiting', async () => {
    const { router } = setup();
    ok(router.queuePush('a', 'jobs', 'x'));
    expect(ok(await router.queuePull('b', 'jobs'))?.id).toBe('q-jobs-1');
    const waiting = router.queuePull('c', 'jobs');
    router.unregister('b');
    expect(ok(await waiting)?.id).toBe('q-jobs-1');
  });

  it('refuses to ack a message another agent holds', async () => {
    const { router } = setup();
    ok(router.queuePush('a', 'jobs', 1));
    const msg = ok(await router.queuePull('b', 'jobs'));
    expect(err(router.queueAck('c', 'jobs', msg?.id ?? '')).code).toBe('NOT_FOUND');
    expect(err(router.queueAck('b', 'nope', msg?.id ?? '')).code).toBe('NOT_FOUND');
    ok(router.queueAck('b', 'jobs', msg?.id ?? ''));
  });

  it('fails a pull from an unknown agent or with a bad name/timeout', async () => {
    const { router } = setup();
    expect(err(await router.queuePull('ghost', 'jobs')).code).toBe('NOT_FOUND');
    expect(err(await router.queuePull('b', '')).code).toBe('INVALID_MESSAGE');
    expect(err(await router.queuePull('b', 'jobs', -1)).code).toBe('INVALID_MESSAGE');
    expect(err(router.queuePush('a', 'x'.repeat(201), 1)).code).toBe('INVALID_MESSAGE');
  });

  it('close() cancels waiting pulls and later calls', async () => {
    const { router } = setup();
    const one = router.queuePull('b', 'jobs');
    const two = router.queuePull('c', 'other');
    router.close();
    expect(err(await one).code).toBe('CANCELLED');
    expect(err(await two).code).toBe('CANCELLED');
    expect(err(router.send('a', 'b', 1)).code).toBe('CANCELLED');
    expect(err(router.queuePush('a', 'jobs', 1)).code).toBe('CANCELLED');
    expect(err(await router.queuePull('b', 'jobs')).code).toBe('CANCELLED');
  });

  it('unregister cancels that agent’s own waiting pull', async () => {
    const { router } = setup();
    const pending = router.queuePull('b', 'jobs');
    router.unregister('b');
    expect(err(await pending).code).toBe('CANCELLED');
  });
});

describe('ChannelRouter: stats and events', () => {
  it('counts every kind of message', async () => {
    const { router, events } = setup();
    router.declareSubtasks(['st']);
    ok(router.subscribe('b', 't'));
    ok(router.subscribe('c', 't'));
    ok(router.send('a', 'b', 'hi'));
    ok(router.send('a', 'st', 'buffered'));
    ok(router.publish('a', 't', 1));
    ok(router.queuePush('a', 'q', [1]));
    ok(await router.queuePull('b', 'q'));
    ok(router.queueAck('b', 'q', 'q-q-1'));
    expect(router.stats()).toEqual({
      direct: { messages: 2, bytes: 4 + 10 },
      topic: { messages: 1, bytes: 1, deliveries: 2 },
      queue: { pushed: 1, delivered: 1, acked: 1, redelivered: 0, bytes: 3 },
    });
    expect(events.map((e) => (e.type === 'message' ? `${e.kind}:${e.to}:${e.bytes}` : e.type))).toEqual([
      'direct:b:4',
      'direct:st:10',
      'topic:t:1',
      'queue:q:3',
    ]);
  });

  it('a throwing event listener does not break messaging', () => {
    const router = new ChannelRouter({
      maxMessageBytes: 100,
      onEvent: () => {
        throw new Error('listener');
      },
    });
    const got: unknown[] = [];
    router.register('b', (d) => got.push(d.body));
    ok(router.send('a', 'b', 1));
    expect(got).toEqual([1]);
  });
});
