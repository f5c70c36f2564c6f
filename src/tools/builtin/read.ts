import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../../errors/catalogue.js';
import { fsError } from '../fs-errors.js';
import { pathArg } from '../paths.js';
import { defineTool } from '../types.js';

/** Largest file the read tool returns: 16 MiB. */
export const MAX_READ_BYTES = 16 * 1024 * 1024;
const CHUNK_BYTES = 1024 * 1024;

/** Reads at most `cap` + 1 bytes; undefined when the file holds more than `cap`. */
async function readCapped(handle: FileHandle, cap: number, signal: AbortSignal): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total <= cap) {
    signal.throwIfAborted();
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, cap + 1 - total));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    total += bytesRead;
  }
  return total > cap ? undefined : Buffer.concat(chunks, total);
}

/**
 * `read {path, encoding?}` → the file's content as a string (utf8, or base64 for binary files).
 * Regular files only, at most {@link MAX_READ_BYTES}; a larger file is FS_DENIED (reason 'too-large').
 */
export const readTool = defineTool({
  name: 'read',
  operation: 'fs.read',
  fileOperation: true,
  networkRequest: false,
  args: z.strictObject({ path: pathArg, encoding: z.enum(['utf8', 'base64']).optional() }),
  async run(args, ctx) {
    const checked = await ctx.checkRead(args.path);
    if (checked.tag === 'failure') return checked;
    let handle: FileHandle | undefined;
    try {
      // O_NONBLOCK: opening a FIFO must not hang; O_NOFOLLOW: the checked real path must not have become a link.
      handle = await open(checked.value, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      // A folder on the path may have been swapped for a link since the check: what was opened is what counts.
      const confirmed = await ctx.confirmOpened('read', args.path, handle.fd);
      if (confirmed.tag === 'failure') return confirmed;
      const stat = await handle.stat();
      if (!stat.isFile()) {
        const what = stat.isDirectory() ? "a directory; use the 'list' tool" : 'not a regular file';
        return failure(qiError('INVALID_TOOL_ARGS', `read '${args.path}': it is ${what}`, { path: args.path }));
      }
      const data = await readCapped(handle, MAX_READ_BYTES, ctx.signal);
      if (data === undefined) {
        return failure(
          qiError('FS_DENIED', `read '${args.path}' denied: the file is larger than 16 MiB, the read tool's limit; read a smaller file or split it first`, {
            path: args.path,
            reason: 'too-large',
            limitBytes: MAX_READ_BYTES,
          }),
        );
      }
      return success(data.toString(args.encoding ?? 'utf8'));
    } catch (e) {
      if (ctx.signal.aborted) return failure(qiError('CANCELLED', `read '${args.path}' was cancelled`, { path: args.path }));
      return failure(fsError(e, 'read', args.path));
    } finally {
      await handle?.close();
    }
  },
});
