/**
 * Coalesces the frames one end of the channel sends in one event-loop turn into fewer writes.
 *
 * The first frame of a turn is written at once (a lone message — the common case — waits for
 * nothing, and a log line written just before a plugin blocks the event loop still leaves); the
 * frames after it in the same turn are joined and written together when the turn ends (`defer`,
 * i.e. setImmediate), or as soon as they reach {@link MAX_BATCH_CHARS}. Order is kept: every
 * write goes through this one writer. Frames stay whole newline-terminated lines, so the reader
 * checks each message as before (size, rate, depth, schema): batching changes how many writes
 * carry them, never what is checked per message.
 *
 * A "before write" hook ({@link FrameWriter.beforeWrite}) runs right before each write, so the
 * coordinator can put what must precede a frame somewhere first (a run's journal: an attempt's
 * start is in the file before its agent can get the subtask). It runs only when frames are
 * actually written: for the first frame of a turn, and once for the frames joined at its end.
 *
 * Shared by both ends; imports nothing.
 */

/** Queued text that is written at once instead of at the end of the turn (bounds memory and delay). */
export const MAX_BATCH_CHARS = 256 * 1024;

export class FrameWriter {
  private queued: string[] = [];
  private queuedChars = 0;
  private before: (() => void) | undefined;
  /** A frame went out in this turn: the next ones wait for the turn's end. */
  private turnOpen = false;
  private readonly endTurn = (): void => {
    this.flush();
    this.turnOpen = false;
  };

  /**
   * @param write writes text to the channel (called with one or more whole frames)
   * @param defer runs a function once the current turn of the event loop is over
   */
  constructor(
    private readonly write: (text: string) => void,
    private readonly defer: (fn: () => void) => void,
  ) {}

  /**
   * Runs `fn` right before every write from now on (undefined: none); it replaces an earlier
   * hook. It must not throw: a frame is written after it either way.
   */
  beforeWrite(fn: (() => void) | undefined): void {
    this.before = fn;
  }

  /**
   * Sends one frame (a whole line, newline included). `later`: it waits for the end of the turn
   * even as the turn's first frame (its reader is busy with earlier frames anyway, so one write
   * for the turn wakes it once instead of once per frame).
   */
  push(frame: string, later = false): void {
    if (later && !this.turnOpen) {
      this.turnOpen = true;
      this.defer(this.endTurn);
    } else if (!this.turnOpen) {
      this.turnOpen = true;
      this.before?.();
      this.write(frame);
      this.defer(this.endTurn);
      return;
    }
    this.queued.push(frame);
    this.queuedChars += frame.length;
    if (this.queuedChars >= MAX_BATCH_CHARS) this.flush();
  }

  /** Writes the queued frames now (before an exit, or a close). */
  flush(): void {
    if (this.queued.length === 0) return;
    const text = this.queued.length === 1 ? this.queued[0]! : this.queued.join('');
    this.queued = [];
    this.queuedChars = 0;
    this.before?.();
    this.write(text);
  }

  /** Frames waiting for the end of the turn. */
  get pending(): number {
    return this.queued.length;
  }
}
