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
  send(message: Unbranded<ChildMessage>): void;
  onMessage(handler: (message: ParentMessage) => void): void;
}

/** The channel as its owner holds it: it can also write what waits for the end of the turn. */
export interface OwnedChildChannel extends ChildChannel {
  /** Writes the messages still waiting for the end of this turn (before the process exits). */
  flush(): void;
}

/**
 * Opens the channel on fd 3. When it closes (the coordinator closed it, exited or died) the
 * child exits at once: no agent outlives its coordinator.
 */
export function openChannel(): OwnedChildChannel {
  return channelOver(new net.Socket({ fd: CHANNEL_FD, readable: true, writable: true }), process.exit.bind(process));
}

/**
 * The child's channel over any byte stream (fd 3, or an in-memory pipe): newline-framed branded
 * JSON out, guarded parent messages in; a corrupt stream or its close calls `exit`. Messages sent
 * in one turn share writes ({@link FrameWriter}): a subtask's logs, progress and result, or the
 * results of several subtasks, leave in one write instead of one each.
 */
export function channelOver(socket: Duplex, exit: (code: number) => void): OwnedChildChannel {
  const write = socket.write.bind(socket);
  const stringify = JSON.stringify;
  const writer = new FrameWriter((text) => void write(text), setImmediate);
  const decoder = new LineDecoder(MAX_PARENT_LINE);
  let handler: (message: ParentMessage) => void = () => undefined;

  socket.on('data', (chunk: Buffer) => {
    const decoded = decoder.push(chunk);
    if (!decoded.ok) exit(70);
    else
      for (const line of decoded.lines) {
        const message = parseLine(line);
        if (isParentMessage(message)) handler(message);
        else process.stderr.write(`qicoord sandbox: ignored a malformed coordinator message\n`);
      }
  });
  socket.on('close', () => exit(0));
  socket.on('error', () => exit(0));

  return {
    send(message) {
      writer.push(`${stringify({ [BRAND]: PROTOCOL_VERSION, ...message })}\n`);
    },
    onMessage(h) {
      handler = h;
    },
    flush() {
      writer.flush();
    },
  };
}
