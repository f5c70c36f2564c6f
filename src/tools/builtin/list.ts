import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../../errors/catalogue.js';
import { errnoCode, fsError } from '../fs-errors.js';
import { fdPath } from '../../util/fd-path.js';
import { pathArg } from '../paths.js';
import { defineTool } from '../types.js';

/**
 * `list {path}` → the entry names of a directory, sorted, directories suffixed with '/'.
 * Symlinks are listed by name without following them.
 */
export const listTool = defineTool({
  name: 'list',
  operation: 'fs.read',
  fileOperation: true,
  networkRequest: false,
  args: z.strictObject({ path: pathArg }),
  async run(args, ctx) {
    const checked = await ctx.checkRead(args.path);
    if (checked.tag === 'failure') return checked;
    let handle: FileHandle | undefined;
    try {
      // Opened, confirmed and listed through the open folder: a folder on the path swapped for a
      // link after the check is refused, never listed.
      handle = await open(checked.value, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      const confirmed = await ctx.confirmOpened('read', args.path, handle.fd);
      if (confirmed.tag === 'failure') return confirmed;
      const entries = await readdir(fdPath(handle.fd), { withFileTypes: true });
      return success(entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort());
    } catch (e) {
      if (errnoCode(e) === 'ENOTDIR') {
        return failure(qiError('INVALID_TOOL_ARGS', `list '${args.path}': it is not a directory; use the 'read' tool for files`, { path: args.path }));
      }
      return failure(fsError(e, 'list', args.path));
    } finally {
      await handle?.close();
    }
  },
});
