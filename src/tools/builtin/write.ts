import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../../errors/catalogue.js';
import { fsError } from '../fs-errors.js';
import { pathArg } from '../paths.js';
import { defineTool } from '../types.js';

/**
 * `write {path, content, append?}` → `{bytes}` (UTF-8 bytes written). Missing parent dirs are
 * created after the path passed the write check; the final component is opened with O_NOFOLLOW,
 * so a symlink that appears after the check is refused (FS_DENIED), never followed.
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
    let handle: FileHandle | undefined;
    try {
      await mkdir(path.dirname(target), { recursive: true });
      handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | mode, 0o666);
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
    }
  },
});
