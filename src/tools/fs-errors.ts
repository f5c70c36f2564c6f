import type { QiError } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/** The errno code (`ENOENT`, …) of a Node system error, if it has one. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? e.code : undefined;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Maps a file-system exception from a tool to a QiError: a missing path is NOT_FOUND, an OS
 * permission refusal or a symlink where none may be is FS_DENIED, a directory where a file was
 * expected (or the reverse) is INVALID_TOOL_ARGS, anything else is INTERNAL.
 */
export function fsError(e: unknown, operation: string, requested: string): QiError {
  const code = errnoCode(e);
  const context = { path: requested, operation, errno: code ?? 'unknown' };
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return qiError('NOT_FOUND', `${operation} '${requested}': no such file or directory; check the path (relative paths resolve against the agent's workspace)`, context);
    case 'EACCES':
    case 'EPERM':
      return qiError('FS_DENIED', `${operation} '${requested}': the operating system denied access (${code}); grant the agent access to it or use another path`, context);
    case 'ELOOP':
      return qiError('FS_DENIED', `${operation} '${requested}': it is (or became) a symlink, or a symlink loop; tools do not follow symlinks that appear after the policy check — use the link's target path`, context);
    case 'EISDIR':
      return qiError('INVALID_TOOL_ARGS', `${operation} '${requested}': it is a directory; use the 'list' tool for directories`, context);
    default:
      return qiError('INTERNAL', `${operation} '${requested}' failed: ${messageOf(e)}`, context);
  }
}
