/**
 * The subtasks sent ahead to one agent (`dispatch.prefetch`), in the order it will run them, and
 * how they come back unstarted: asked back when the subtask ahead of them runs long or waits on
 * other subtasks, cancelled, or returned when the agent ends. The child confirms each one it
 * gives back (`unqueued`); until then it stays here, since the child may have begun it already.
 * @module
 */

/** A subtask sent ahead that the agent never started. Nothing of it ran; it may run elsewhere. */
export const NOT_STARTED = 'not-started';

/**
 * What waits behind a subtask that has run this long is taken back to run elsewhere: one blocked
 * on a message from another subtask never holds up the ones queued behind it for longer. Ten
 * times the bound under which an agent takes subtasks ahead at all (5 ms), so that an agent
 * merely descheduled on a busy host does not have its queue taken back and sent again.
 */
export const TAKE_BACK_AFTER_MS = 50;

/** A queued attempt, as the queue handles it. */
export interface QueuedAttempt {
  readonly subtask: { readonly id: string };
  /** Asked back: to run elsewhere (`steal`), or cancelled; with why. */
  taking?: { readonly why: 'steal' | 'cancel'; readonly reason: string };
  settle(outcome: typeof NOT_STARTED): void;
}

export interface AheadQueueDeps {
  /** Tells the child: `unqueue` (give it back if not begun) or `cancel` (give it back, or abort it if begun). */
  send(subtaskId: string, why: 'steal' | 'cancel', reason: string): void;
  /** The subtask the agent runs and how long it has run (undefined: none, or the agent is ending). */
  running(): { readonly id: string; readonly ms: number } | undefined;
}

export class AheadQueue<T extends QueuedAttempt> {
  private readonly items: T[] = [];
  /** Checks for a long-running subtask ahead (armed while the queue is not empty). */
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: AheadQueueDeps) {}

  get size(): number {
    return this.items.length;
  }

  push(item: T): void {
    this.items.push(item);
    this.timer ??= setTimeout(() => this.check(), TAKE_BACK_AFTER_MS);
  }

  /** The next one, which begins now (the child starts it the moment the one before it ends). */
  shift(): T | undefined {
    return this.items.shift();
  }

  /** Asks the child to give back every queued subtask not asked back yet. */
  takeBack(reason: string): void {
    for (const item of this.items) {
      if (item.taking !== undefined) continue;
      item.taking = { why: 'steal', reason };
      this.deps.send(item.subtask.id, 'steal', reason);
    }
  }

  /** Cancels a queued subtask: false when it is not queued here. */
  cancel(subtaskId: string, reason: string): boolean {
    const item = this.items.find((q) => q.subtask.id === subtaskId);
    if (item === undefined) return false;
    item.taking = { why: 'cancel', reason };
    this.deps.send(subtaskId, 'cancel', reason);
    return true;
  }

  /** The child gave one back: it comes back NOT_STARTED. False when it was never asked back (a forged identity). */
  confirm(subtaskId: string): boolean {
    const at = this.items.findIndex((q) => q.subtask.id === subtaskId && q.taking !== undefined);
    if (at < 0) return false;
    const [item] = this.items.splice(at, 1);
    item!.settle(NOT_STARTED);
    return true;
  }

  /** The agent will run none of them (it is ending). */
  returnAll(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const item of this.items.splice(0)) item.settle(NOT_STARTED);
  }

  private check(): void {
    this.timer = undefined;
    const running = this.deps.running();
    if (running === undefined || this.items.length === 0) return;
    if (running.ms < TAKE_BACK_AFTER_MS) {
      this.timer = setTimeout(() => this.check(), TAKE_BACK_AFTER_MS - running.ms);
      return;
    }
    this.takeBack(`subtask '${running.id}' ahead of it ran for ${running.ms} ms`);
  }
}
