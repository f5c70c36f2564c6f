/**
 * Channels on real SubAgent processes: direct messages (`ctx.send` + `ctx.messages()`), topics
 * (`ctx.publish` / `ctx.subscribe`), work queues (`ctx.queue(name).push/pull/ack`) and queue
 * redelivery when a consumer dies holding a message.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { eventsOf, liveCoordinator, output, report, strategy, sub, task, type LiveCoordinator } from './live-helpers.js';

let live: LiveCoordinator | undefined;

afterEach(async () => {
  const closing = live;
  live = undefined;
  if (closing !== undefined) expect(await closing.close()).toBe(true);
});

async function coordinator(): Promise<LiveCoordinator> {
  live = await liveCoordinator();
  return live;
}

describe('direct messages', () => {
  it('reach a running subtask by its id', async () => {
    const c = await coordinator();
    const t = task('direct', [
      sub('listener', [{ do: 'receive', count: 2 }]),
      sub('talker', [
        { do: 'send', to: 'listener', body: { n: 1 } },
        { do: 'send', to: 'listener', body: { n: 2, text: 'second' } },
      ]),
    ]);
    const result = await c.run(t, strategy('hybrid'));
    expect(result.success).toBe(true);
    expect(output(result, 'listener').log).toEqual([
      {
        received: [
          { from: 'talker', body: { n: 1 } },
          { from: 'talker', body: { n: 2, text: 'second' } },
        ],
      },
    ]);
    const sent = eventsOf(c.events, 'channel').map((e) => e.event);
    expect(sent).toMatchObject([
      { type: 'message', kind: 'direct', from: 'talker', to: 'listener' },
      { type: 'message', kind: 'direct', from: 'talker', to: 'listener' },
    ]);
  });

  it('wait for a subtask that has not started, and each subtask on a reused agent gets its own', async () => {
    const c = await coordinator();
    // Sequential: one agent runs all three in turn; `b` and `c` get messages sent before they started.
    const t = task(
      'buffered',
      [
        sub('s', [
          { do: 'send', to: 'b', body: 'for b' },
          { do: 'send', to: 'c', body: 'for c' },
        ]),
        sub('b', [{ do: 'receive' }]),
        sub('c', [{ do: 'receive' }]),
      ],
      { b: ['s'], c: ['b'] },
    );
    const result = await c.run(t, strategy('sequential'));
    expect(result.success).toBe(true);
    expect(new Set(result.aggregatedResult.subtasks.map((s) => s.agentId)).size).toBe(1);
    expect(output(result, 'b').log).toEqual([{ received: [{ from: 's', body: 'for b' }] }]);
    expect(output(result, 'c').log).toEqual([{ received: [{ from: 's', body: 'for c' }] }]);
  });
});

describe('topics', () => {
  it('deliver every publish to every subscriber, in order, from the moment it subscribed', async () => {
    const c = await coordinator();
    // Readers subscribe only once the editor published 'too early', then tell it they listen.
    const listen = [
      { do: 'receive' },
      { do: 'subscribe', topic: 'news' },
      { do: 'send', to: 'editor', body: 'subscribed' },
      { do: 'next', topic: 'news', count: 2 },
    ];
    const t = task('pubsub', [
      sub('reader-1', listen),
      sub('reader-2', listen),
      sub('editor', [
        { do: 'publish', topic: 'news', body: 'too early' },
        { do: 'send', to: 'reader-1', body: 'go' },
        { do: 'send', to: 'reader-2', body: 'go' },
        { do: 'receive', count: 2 },
        { do: 'publish', topic: 'news', body: { headline: 'one' } },
        { do: 'publish', topic: 'sports', body: 'elsewhere' },
        { do: 'publish', topic: 'news', body: { headline: 'two' } },
      ]),
    ]);
    const result = await c.run(t, strategy('hybrid', { maxConcurrentAgents: 3 }));
    expect(result.success).toBe(true);
    for (const id of ['reader-1', 'reader-2']) {
      expect(output(result, id).log[1]).toEqual({ topic: 'news', messages: [{ headline: 'one' }, { headline: 'two' }] });
    }
    const published = eventsOf(c.events, 'channel').filter((e) => e.event['kind'] === 'topic');
    expect(published.map((e) => e.event['to'])).toEqual(['news', 'news', 'sports', 'news']);
  });
});

describe('work queues', () => {
  it('hand out pushed messages in order, each to one puller, and take acks', async () => {
    const c = await coordinator();
    const t = task('queue', [
      sub('producer', [1, 2, 3].map((n) => ({ do: 'push', queue: 'jobs', body: { job: n } }))),
      sub('consumer', [
        { do: 'pull', queue: 'jobs' },
        { do: 'pull', queue: 'jobs' },
        { do: 'pull', queue: 'jobs' },
        { do: 'pull', queue: 'jobs', timeoutMs: 0 },
      ]),
    ]);
    const result = await c.run(t, strategy('hybrid'));
    expect(result.success).toBe(true);
    const pulled = output(result, 'consumer').log.map((entry) => entry['pulled'] as { id: string; body: unknown } | null);
    expect(pulled.map((p) => p?.body ?? null)).toEqual([{ job: 1 }, { job: 2 }, { job: 3 }, null]);
    expect(new Set(pulled.slice(0, 3).map((p) => p?.id)).size).toBe(3);
    expect(eventsOf(c.events, 'channel').filter((e) => e.event['type'] === 'redeliver')).toEqual([]);
  });

  it('redeliver a message whose consumer died before acking it to another consumer', async () => {
    const c = await coordinator();
    const t = task('redeliver', [
      sub('producer', [{ do: 'push', queue: 'work', body: 'job-1' }]),
      sub('first', [
        { do: 'pull', queue: 'work', ack: false },
        { do: 'send', to: 'second', body: 'took it' },
        { do: 'exit', code: 3 },
      ]),
      sub('second', [{ do: 'receive' }, { do: 'pull', queue: 'work' }]),
    ]);
    const result = await c.run(t, strategy('hybrid', { maxConcurrentAgents: 3 }));
    expect(report(result, 'first')).toMatchObject({ status: 'failed', error: { code: 'AGENT_CRASHED' } });
    expect(report(result, 'second').status).toBe('succeeded');
    const redelivered = eventsOf(c.events, 'channel').filter((e) => e.event['type'] === 'redeliver');
    expect(redelivered).toHaveLength(1);
    expect(redelivered[0]!.event).toMatchObject({ queue: 'work', from: report(result, 'first').agentId });
    const got = output(result, 'second').log[1]!['pulled'] as { id: string; body: unknown };
    expect(got).toEqual({ id: redelivered[0]!.event['messageId'], body: 'job-1' });
    // One message was ever pushed: the second consumer got that same one.
    expect(eventsOf(c.events, 'channel').filter((e) => e.event['kind'] === 'queue')).toHaveLength(1);
  });
});
