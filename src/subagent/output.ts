import type { Readable } from 'node:stream';
import type { Logger } from 'pino';

/**
 * What one forwarded line is charged on top of its own bytes: the log record around it (level,
 * time, pid, name, agentId, agentType, stream). Without it, a child printing one-character lines
 * would turn `maxBytes` of output into some hundred times that much log.
 */
export const OUTPUT_LINE_OVERHEAD_BYTES = 160;

/**
 * Forwards a child's stdout or stderr to the log, line by line, while the lines (each charged
 * its bytes plus {@link OUTPUT_LINE_OVERHEAD_BYTES}) fit `maxBytes`; past that the stream is
 * still drained (a blocked pipe would stall the child) but only counted, and one record at its
 * end says how much was dropped. Nothing a child prints ever reaches the coordinator's own stdout.
 */
export function captureOutput(
  stream: Readable,
  name: 'stdout' | 'stderr',
  maxBytes: number,
  logger: Logger,
  onChunk?: (chunk: Buffer) => void,
): void {
  let used = 0;
  let forwarded = 0;
  let dropped = 0;
  let full = false;
  let partial = '';
  const emit = (line: string): void => {
    if (name === 'stderr') logger.warn({ stream: name }, line);
    else logger.info({ stream: name }, line);
  };
  /** Forwards one complete line if it fits; the first that does not closes the stream's budget. */
  const take = (line: string, newline: number): void => {
    const bytes = Buffer.byteLength(line, 'utf8');
    if (!full && line.length > 0 && used + bytes + OUTPUT_LINE_OVERHEAD_BYTES > maxBytes) full = true;
    if (full) {
      dropped += bytes + newline;
      return;
    }
    if (line.length === 0) return;
    used += bytes + OUTPUT_LINE_OVERHEAD_BYTES;
    forwarded += bytes + newline;
    emit(line);
  };
  stream.on('data', (chunk: Buffer) => {
    onChunk?.(chunk);
    if (full) {
      dropped += chunk.length;
      return;
    }
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) take(line, 1);
    // An unfinished line that can no longer fit is not kept waiting for its end (memory stays bounded).
    if (!full && used + Buffer.byteLength(partial, 'utf8') + OUTPUT_LINE_OVERHEAD_BYTES > maxBytes) {
      full = true;
      dropped += Buffer.byteLength(partial, 'utf8');
      partial = '';
    }
  });
  stream.on('end', () => {
    take(partial, 0);
    if (dropped > 0) logger.warn({ stream: name, droppedBytes: dropped, keptBytes: forwarded }, `${name} over sandbox.maxOutputBytes: ${dropped} bytes dropped`);
  });
  stream.on('error', () => undefined);
}
