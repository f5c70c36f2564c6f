import { readSync, writeSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ChildMessage, ParentMessage, Unbranded } from '../src/protocol/messages.js';
import { BRAND, CHANNEL_FD, PROTOCOL_VERSION } from '../src/protocol/constants.js';
import { FrameWriter } from '../src/protocol/frame-writer.js';
import { LineDecoder, parseLine } from '../src/protocol/framing.js';
import { isParentMessage } from '../src/protocol/guard.js';

/** Messages from the coordinator can be large (inputs); the cap only guards against corruption. */
const MAX_PARENT_LINE = 256 * 1024 * 1024;

/** The child's end of the channel. Its functions are captured before any plugin code runs. */
export interface ChildChannel {
  /** `later`: the message may wait for the end of the turn (see FrameWriter.push). */
  send(message: Unbranded<ChildMessage>, later?: boolean): void;
  onMessage(handler: (message: ParentMessage) => void): void;
}

/** The channel as its owner holds it: it can also write what waits for the end of the turn. */
export interface OwnedChildChannel extends ChildChannel {
  /** Writes the messages still waiting for the end of this turn (before the process exits). */
  flush(): void;
}

/** The channel of an agent process while it starts: synchronous on fd 3 until its socket is attached. */
export interface StartingChannel extends OwnedChildChannel {
  /**
   * Blocks until the coordinator's first message is read from fd 3 and returns it: the `init`
   * the coordinator sent with the spawn is already waiting, so the handshake needs no turn of
   * the event loop. Undefined when fd 3 cannot be read that way (non-blocking): the socket
   * delivers it once attached. Bytes read past that message go to the socket's reader.
   */
  readFirst(): ParentMessage | undefined;
  /**
   * Moves the channel onto a socket on fd 3 (asynchronous, batched writes; messages delivered
   * to the handler). Until then each message is written synchronously: `hello`, then `ready`
   * when the plugin loads synchronously, leave before Node's stream machinery is even built.
   */
  attach(): void;
}

/** Waits `ms` without spinning (a full pipe, before the socket exists). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Opens the channel on fd 3. When it closes (the coordinator closed it, exited or died) the
 * child exits at once: no agent outlives its coordinator.
 */
export function openChannel(): StartingChannel {
  const exit = process.exit.bind(process);
  const stringify = JSON.stringify;
  const decoder = new LineDecoder(MAX_PARENT_LINE);
  /** Whole lines read past the first message, delivered when the socket is attached. */
  const carried: string[] = [];
  let handler: (message: ParentMessage) => void = () => undefined;
  let attached: OwnedChildChannel | undefined;

  function writeNow(text: string): void {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length; ) {
      try {
        at += writeSync(CHANNEL_FD, bytes, at, bytes.length - at);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') pause(1);
        else if (code !== 'EINTR') exit(0); // the coordinator is gone
      }
    }
  }

  return {
    send(message) {
      if (attached !== undefined) attached.send(message);
      else writeNow(`${stringify({ [BRAND]: PROTOCOL_VERSION, ...message })}\n`);
    },
    onMessage(h) {
      handler = h;
      attached?.onMessage(h);
    },
    flush() {
      attached?.flush();
    },
    readFirst() {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      for (;;) {
        let n: number;
        try {
          n = readSync(CHANNEL_FD, buffer, 0, buffer.length, null);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN') return undefined;
          if (code === 'EINTR') continue;
          return exit(0);
        }
        if (n === 0) return exit(0);
        const decoded = decoder.push(Buffer.from(buffer.subarray(0, n)));
        if (!decoded.ok) return exit(70);
        carried.push(...decoded.lines);
        while (carried.length > 0) {
          const message = toParentMessage(carried.shift()!);
          if (message !== undefined) return message;
        }
      }
    },
    attach() {
      if (attached !== undefined) return;
      attached = channelOver(new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true }), exit, decoder);
      attached.onMessage(handler);
      for (const line of carried.splice(0)) {
        const message = toParentMessage(line);
        if (message !== undefined) handler(message);
      }
    },
  };
}

/** A line from the coordinator as a message; undefined (and a note on stderr) when it is not one. */
function toParentMessage(line: string): ParentMessage | undefined {
  const message = parseLine(line);
  if (isParentMessage(message)) return message;
  process.stderr.write(`qicoord sandbox: ignored a malformed coordinator message\n`);
  return undefined;
}

/**
 * The child's channel over any byte stream (fd 3, or an in-memory pipe): newline-framed branded
 * JSON out, guarded parent messages in; a corrupt stream or its close calls `exit`. Messages sent
 * in one turn share writes ({@link FrameWriter}): a subtask's logs, progress and result, or the
 * results of several subtasks, leave in one write instead of one each.
 */
export function channelOver(socket: Duplex, exit: (code: number) => void, decoder = new LineDecoder(MAX_PARENT_LINE)): OwnedChildChannel {
  const write = socket.write.bind(socket);
  const stringify = JSON.stringify;
  const writer = new FrameWriter((text) => void write(text), setImmediate);
  let handler: (message: ParentMessage) => void = () => undefined;

  socket.on('data', (chunk: Buffer) => {
    const decoded = decoder.push(chunk);
    if (!decoded.ok) exit(70);
    else
      for (const line of decoded.lines) {
        const message = toParentMessage(line);
        if (message !== undefined) handler(message);
      }
  });
  socket.on('close', () => exit(0));
  socket.on('error', () => exit(0));

  return {
    send(message, later) {
      writer.push(`${stringify({ [BRAND]: PROTOCOL_VERSION, ...message })}\n`, later);
    },
    onMessage(h) {
      handler = h;
    },
    flush() {
      writer.flush();
    },
  };
}
