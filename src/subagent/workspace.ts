import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Creates an agent's private workspace (mode 0700) and returns its real path. */
export function createWorkspace(root: string, agentId: string): string {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = path.join(realpathSync(root), agentId);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** Removes a workspace; errors (already gone) are ignored. */
export function removeWorkspace(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
