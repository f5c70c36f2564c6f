import type { Readable } from 'node:stream';
import type { Logger } from 'pino';

/**
 * Forwards a child's stdout or stderr to the log, line by line, up to `maxBytes`; past that the
 * stream is still drained (a blocked pipe would stall the child) but only counted. Nothing a
 * child prints ever reaches the coordinator's own stdout.
 */
export function captureOutput(
  stream: Readable,
  name: 'stdout' | 'stderr',
  maxBytes: number,
  logger: Logger,
  onChunk?: (chunk: Buffer) => void,
): void {
  let forwarded = 0;
  let dropped = 0;
  let partial = '';
  const emit = (line: string): void => {
    if (line.length === 0) return;
    if (name === 'stderr') logger.warn({ stream: name }, line);
    else logger.info({ stream: name }, line);
  };
  stream.on('data', (chunk: Buffer) => {
    onChunk?.(chunk);
    if (forwarded >= maxBytes) {
      dropped += chunk.length;
      return;
    }
    const room = maxBytes - forwarded;
    const usable = chunk.length > room ? chunk.subarray(0, room) : chunk;
    dropped += chunk.length - usable.length;
    forwarded += usable.length;
    const lines = (partial + usable.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) emit(line);
  });
  stream.on('end', () => {
    emit(partial);
    if (dropped > 0) logger.warn({ stream: name, droppedBytes: dropped, keptBytes: forwarded }, `${name} over sandbox.maxOutputBytes: ${dropped} bytes dropped`);
  });
  stream.on('error', () => undefined);
}
