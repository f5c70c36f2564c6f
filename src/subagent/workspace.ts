import { chownSync, lstatSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentIdentity } from './types.js';

/**
 * The default workspace root: per user, `<tmpdir>/qicoord-<uid>` (a shared `/tmp/qicoord` made
 * 0700 by one user locks every other user out, and a predictable shared path can be squatted).
 */
export function defaultWorkspaceRoot(): string {
  return path.join(os.tmpdir(), `qicoord-${process.getuid?.() ?? 'user'}`);
}

/**
 * Makes sure the workspace root exists and is ours: created 0700 when missing; an existing one
 * must be a real folder (not a symlink) owned by this user, else it is refused (someone else
 * could have made it to read or swap agents' workspaces). Returns its real path.
 */
export function ensureWorkspaceRoot(root: string): string {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = lstatSync(root);
  const uid = process.getuid?.();
  if (st.isSymbolicLink() || !st.isDirectory()) throw new Error(`workspace root ${root} is not a folder (a symlink or a file is refused)`);
  if (uid !== undefined && st.uid !== uid) throw new Error(`workspace root ${root} belongs to uid ${st.uid}, not to this user (uid ${uid}); remove it or set sandbox.workspaceRoot`);
  if ((st.mode & 0o022) !== 0) throw new Error(`workspace root ${root} is writable by other users (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it or set sandbox.workspaceRoot`);
  return realpathSync(root);
}

/**
 * Creates an agent's private workspace (mode 0700) and returns its real path; owned by `owner`
 * when agents run as another user than the coordinator.
 */
export function createWorkspace(root: string, agentId: string, owner: AgentIdentity | null = null): string {
  const dir = path.join(ensureWorkspaceRoot(root), agentId);
  mkdirSync(dir, { mode: 0o700 });
  if (owner !== null) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** Removes a workspace; errors (already gone) are ignored. */
export function removeWorkspace(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
