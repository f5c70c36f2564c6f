/** The queue of subtasks sent ahead to one agent, without processes (fake timers for its take-back check). */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AheadQueue, NOT_STARTED, TAKE_BACK_AFTER_MS, type QueuedAttempt } from '../../src/subagent/ahead-queue.js';

interface Item extends QueuedAttempt {
  outcome?: string;
}

function item(id: string): Item {
  const it: Item = { subtask: { id }, settle: (o) => void (it.outcome = o) };
  return it;
}

function queue(running: () => { id: string; ms: number } | undefined = () => undefined) {
  const sent: string[] = [];
  const q = new AheadQueue<Item>({ send: (id, why, reason) => void sent.push(`${why}:${id}:${reason}`), running });
  return { q, sent };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('AheadQueue', () => {
  it('hands them out in the order sent', () => {
    const { q } = queue();
    const [a, b] = [item('a'), item('b')];
    q.push(a);
    q.push(b);
    expect(q.size).toBe(2);
    expect(q.shift()).toBe(a);
    expect(q.shift()).toBe(b);
    expect(q.shift()).toBeUndefined();
  });

  it('asks back what waits behind a subtask that has run long, once each, and only after the child confirms is it NOT_STARTED', () => {
    let ms = 10;
    const { q, sent } = queue(() => ({ id: 'head', ms }));
    const [a, b] = [item('a'), item('b')];
    q.push(a);
    q.push(b);
    vi.advanceTimersByTime(TAKE_BACK_AFTER_MS);
    // The head had run 10 ms when the check came: checked again when it reaches the bound.
    expect(sent).toEqual([]);
    ms = TAKE_BACK_AFTER_MS;
    vi.advanceTimersByTime(TAKE_BACK_AFTER_MS);
    expect(sent).toEqual([`steal:a:subtask 'head' ahead of it ran for ${TAKE_BACK_AFTER_MS} ms`, `steal:b:subtask 'head' ahead of it ran for ${TAKE_BACK_AFTER_MS} ms`]);
    q.takeBack('again');
    expect(sent).toHaveLength(2);
    expect(a.outcome).toBeUndefined();
    expect(q.confirm('a')).toBe(true);
    expect(a.outcome).toBe(NOT_STARTED);
    expect(q.size).toBe(1);
  });

  it('a confirmation of one never asked back, or not queued, is refused (a forged identity)', () => {
    const { q } = queue();
    const a = item('a');
    q.push(a);
    expect(q.confirm('a')).toBe(false);
    expect(q.confirm('other')).toBe(false);
    expect(a.outcome).toBeUndefined();
    expect(q.size).toBe(1);
  });

  it('cancels a queued one (the child gives it back, or aborts it if begun); one not queued is not its business', () => {
    const { q, sent } = queue();
    q.push(item('a'));
    expect(q.cancel('a', 'host said so')).toBe(true);
    expect(q.cancel('zzz', 'no')).toBe(false);
    expect(sent).toEqual(['cancel:a:host said so']);
    expect(q.confirm('a')).toBe(true);
  });

  it('returns everything unstarted when the agent ends, and checks nothing after', () => {
    const { q, sent } = queue(() => ({ id: 'head', ms: 1000 }));
    const [a, b] = [item('a'), item('b')];
    q.push(a);
    q.push(b);
    q.returnAll();
    expect([a.outcome, b.outcome]).toEqual([NOT_STARTED, NOT_STARTED]);
    vi.advanceTimersByTime(TAKE_BACK_AFTER_MS * 2);
    expect(sent).toEqual([]);
  });
});
