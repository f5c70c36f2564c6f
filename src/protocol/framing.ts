/**
 * Newline-delimited JSON framing for the SubAgent channel (a pipe on fd 3), with a hard cap on
 * the size of one message. Node's own IPC channel buffers a child's message without any limit
 * (a child writing raw bytes to its IPC fd can make the parent buffer until V8's string limit
 * throws inside Node), so qicoord owns the channel and stops reading at the cap.
 *
 * Shared by both ends; imports nothing, so the sandboxed child loads it in microseconds.
 */

const NEWLINE = 0x0a;

/** Result of feeding bytes to a {@link LineDecoder}. */
export type DecodeOutcome =
  | { readonly ok: true; readonly lines: string[] }
  | {
      readonly ok: false;
      /** The line's size when it crossed the cap. */
      readonly bytes: number;
      /** The line's first `maxLineBytes` bytes, for a diagnosis (copied only when asked for). */
      readonly prefix: () => Buffer;
    };

/** Splits a byte stream into lines, refusing any line longer than `maxLineBytes`. */
export class LineDecoder {
  private pieces: Buffer[] = [];
  private pending = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Feeds a chunk; returns the complete lines in it, or the size at which the cap was crossed. */
  push(chunk: Buffer): DecodeOutcome {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      if (this.pending + (nl - start) > this.maxLineBytes) return this.overflow(chunk.subarray(start, nl));
      // A whole line in this chunk (the usual case) is decoded in place, with no view or copy.
      if (this.pending === 0) lines.push(chunk.toString('utf8', start, nl));
      else {
        lines.push(Buffer.concat([...this.pieces, chunk.subarray(start, nl)]).toString('utf8'));
        this.pieces = [];
        this.pending = 0;
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (this.pending + rest.length > this.maxLineBytes) return this.overflow(rest);
      this.pieces.push(rest);
      this.pending += rest.length;
    }
    return { ok: true, lines };
  }

  private overflow(last: Buffer): DecodeOutcome {
    const pieces = [...this.pieces, last];
    const bytes = this.pending + last.length;
    const cap = this.maxLineBytes;
    this.pieces = [];
    this.pending = 0;
    return { ok: false, bytes, prefix: () => Buffer.concat(pieces).subarray(0, cap) };
  }
}

/** Serializes one message as a line. */
export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

function dropProtoKeys(key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/**
 * JSON.parse that never yields an own `__proto__` key (which `Object.assign` or a careless merge
 * would turn into a prototype change). The reviver only runs when the text mentions one.
 */
export function parseLine(line: string): unknown {
  return line.includes('"__proto__"') ? JSON.parse(line, dropProtoKeys) : JSON.parse(line);
}
