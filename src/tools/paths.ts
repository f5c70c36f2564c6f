import { readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../errors/catalogue.js';
import { fdPath } from '../util/fd-path.js';
import { errnoCode, fsError } from './fs-errors.js';
import type { ToolPolicy } from './types.js';

/** Most symlinks followed while resolving one path (Linux's own limit). */
const MAX_SYMLINKS = 40;

/** Schema of a path argument: a non-empty string without NUL bytes. */
export const pathArg = z
  .string()
  .min(1)
  .refine((p) => !p.includes('\0'), 'must not contain NUL bytes');

/**
 * The real path of `p` even when its tail does not exist: every existing component is resolved
 * (symlinks followed, dangling ones too), missing components are kept as written.
 */
export async function realpathLenient(p: string, hops = 0): Promise<string> {
  try {
    return await realpath(p);
  } catch (e) {
    const code = errnoCode(e);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
  }
  const parent = path.dirname(p);
  if (parent === p) return p;
  const dir = await realpathLenient(parent, hops);
  const here = path.join(dir, path.basename(p));
  const link = await readlink(here).catch(() => undefined);
  if (link === undefined) return here;
  if (hops >= MAX_SYMLINKS) throw Object.assign(new Error(`too many symlinks resolving ${p}`), { code: 'ELOOP' });
  return realpathLenient(path.resolve(dir, link), hops + 1);
}

/** True when `child` is `root` or lies below it (`/tmp/a` does not contain `/tmp/ab`). */
export function isInside(child: string, root: string): boolean {
  if (child === root) return true;
  return child.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The real paths of the roots that exist (a missing root grants nothing). */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(roots.map((r) => realpath(r).catch(() => undefined)));
  return resolved.filter((r): r is string => r !== undefined);
}

/** Dirs readable through tools: the read roots, plus the write roots under 'restricted'. */
function readableRoots(policy: ToolPolicy): readonly string[] {
  return policy.fileSystemAccess === 'restricted' ? [...policy.readRoots, ...policy.writeRoots] : policy.readRoots;
}

function outside(policy: ToolPolicy, op: 'read' | 'write', requested: string, resolved: string, roots: readonly string[]): QiError {
  const where = roots.length === 0 ? 'no granted dirs' : roots.join(', ');
  const grant = op === 'read' ? 'sandbox.readPaths' : 'sandbox.writePaths';
  return qiError(
    'FS_DENIED',
    `${op} of '${requested}' denied for agent ${policy.agentId}: it resolves to ${resolved}, outside the ${op}able dirs (${where}); use a path inside them or grant the dir in ${grant}`,
    { agentId: policy.agentId, operation: op, path: requested, resolved, roots },
  );
}

/**
 * Checks a read: the real path of the target (symlinks followed) must lie inside a real read root.
 * A missing target inside a root is allowed: the tool then reports NOT_FOUND. Returns the real path.
 */
export async function checkReadPath(policy: ToolPolicy, requested: string): Promise<Result<string, QiError>> {
  try {
    const real = await realpathLenient(path.resolve(policy.workspace, requested));
    const roots = await realRoots(readableRoots(policy));
    return roots.some((r) => isInside(real, r)) ? success(real) : failure(outside(policy, 'read', requested, real, roots));
  } catch (e) {
    return failure(fsError(e, 'read', requested));
  }
}

/**
 * Checks a write: never under 'read-only'; anywhere under 'full'; else the real parent dir and the
 * real target (a final symlink followed) must both lie inside a real write root. Returns the real
 * target path, to be opened with O_NOFOLLOW.
 */
export async function checkWritePath(policy: ToolPolicy, requested: string): Promise<Result<string, QiError>> {
  if (policy.fileSystemAccess === 'read-only') {
    return failure(
      qiError(
        'FS_DENIED',
        `write of '${requested}' denied: agent ${policy.agentId} is read-only (fileSystemAccess 'read-only'); set fileSystemAccess to 'restricted' (writes to the workspace) to let it write`,
        { agentId: policy.agentId, operation: 'write', path: requested, fileSystemAccess: 'read-only' },
      ),
    );
  }
  try {
    const absolute = path.resolve(policy.workspace, requested);
    const target = await realpathLenient(absolute);
    if (policy.fileSystemAccess === 'full') return success(target);
    const parent = await realpathLenient(path.dirname(absolute));
    const roots = await realRoots(policy.writeRoots);
    const bad = [parent, target].find((p) => !roots.some((r) => isInside(p, r)));
    return bad === undefined ? success(target) : failure(outside(policy, 'write', requested, bad, roots));
  } catch (e) {
    return failure(fsError(e, 'write', requested));
  }
}

/**
 * Confirms that an open file or folder (`fd`, opened from a path {@link checkReadPath} or
 * {@link checkWritePath} returned) lies inside the roots that check used: FS_DENIED otherwise
 * (the path was swapped for a link between the check and the open). Nothing may be read from or
 * written to `fd` before this succeeds. A check of a path and a later open of the same path can
 * see two different files (an agent may swap a folder of its workspace for a link in between:
 * rename is atomic); the open file is what is read or written, so it is what is checked again,
 * where the kernel says it is (`fdPath`), whatever links the path that opened it went through.
 */
export async function confirmOpened(policy: ToolPolicy, op: 'read' | 'write', requested: string, fd: number): Promise<Result<void, QiError>> {
  if (op === 'write' && policy.fileSystemAccess === 'full') return success(undefined);
  try {
    const real = await readlink(fdPath(fd));
    const roots = await realRoots(op === 'read' ? readableRoots(policy) : policy.writeRoots);
    return roots.some((r) => isInside(real, r)) ? success(undefined) : failure(outside(policy, op, requested, real, roots));
  } catch (e) {
    return failure(fsError(e, op, requested));
  }
}
