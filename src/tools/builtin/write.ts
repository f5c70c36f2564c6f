import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../../errors/catalogue.js';
import { errnoCode, fsError } from '../fs-errors.js';
import { fdPath } from '../../util/fd-path.js';
import { pathArg } from '../paths.js';
import { defineTool, type ToolContext } from '../types.js';

/**
 * Opens folder `dir` to create a file in it, creating it and missing folders above it first.
 * An existing folder is opened and confirmed writable (what was opened, not the path: a folder
 * on the path may have been swapped for a link since the check); a missing one is made inside its
 * confirmed parent, through that open parent, and opened there without following a link, so no
 * link swapped into the path can move a folder or file outside the grants.
 */
async function openFolderToWrite(dir: string, requested: string, ctx: ToolContext): Promise<Result<FileHandle, QiError>> {
  const up = path.dirname(dir);
  try {
    const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    const confirmed = await ctx.confirmOpened('write', requested, handle.fd);
    if (confirmed.tag === 'success') return success(handle);
    await handle.close();
    return confirmed;
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT' || up === dir) return failure(fsError(e, 'write', requested));
  }
  const parent = await openFolderToWrite(up, requested, ctx);
  if (parent.tag === 'failure') return parent;
  const inParent = `${fdPath(parent.value.fd)}/${path.basename(dir)}`;
  try {
    await mkdir(inParent).catch((e: unknown) => {
      if (errnoCode(e) !== 'EEXIST') throw e;
    });
    return success(await open(inParent, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW));
  } catch (e) {
    return failure(fsError(e, 'write', requested));
  } finally {
    await parent.value.close();
  }
}

/**
 * `write {path, content, append?}` → `{bytes}` (UTF-8 bytes written). Missing parent dirs are
 * created after the path passed the write check, each inside a parent confirmed writable; the file
 * is opened inside its confirmed folder with O_NOFOLLOW, so a symlink that appears after the check
 * — as the file, or as a folder on its path — is refused (FS_DENIED), never followed.
 */
export const writeTool = defineTool({
  name: 'write',
  operation: 'fs.write',
  fileOperation: true,
  networkRequest: false,
  args: z.strictObject({ path: pathArg, content: z.string(), append: z.boolean().optional() }),
  async run(args, ctx) {
    const checked = await ctx.checkWrite(args.path);
    if (checked.tag === 'failure') return checked;
    const target = checked.value;
    const mode = args.append === true ? constants.O_APPEND : constants.O_TRUNC;
    const folder = await openFolderToWrite(path.dirname(target), args.path, ctx);
    if (folder.tag === 'failure') return folder;
    let handle: FileHandle | undefined;
    try {
      handle = await open(`${fdPath(folder.value.fd)}/${path.basename(target)}`, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | mode, 0o666);
      if (!(await handle.stat()).isFile()) {
        return failure(qiError('INVALID_TOOL_ARGS', `write '${args.path}': it is not a regular file; write to a file path`, { path: args.path }));
      }
      const data = Buffer.from(args.content, 'utf8');
      await handle.writeFile(data);
      return success({ bytes: data.length });
    } catch (e) {
      return failure(fsError(e, 'write', args.path));
    } finally {
      await handle?.close();
      await folder.value.close();
    }
  },
});
