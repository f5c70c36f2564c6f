import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWorkspace, defaultWorkspaceRoot, ensureWorkspaceRoot } from '../src/subagent/workspace.js';
import { tempProject } from './helpers.js';

describe('the workspace root', () => {
  it('is per user by default, and created 0700', () => {
    expect(defaultWorkspaceRoot()).toBe(path.join(os.tmpdir(), `qicoord-${process.getuid?.()}`));
    const root = path.join(tempProject(), 'fresh');
    ensureWorkspaceRoot(root);
    expect(statSync(root).mode & 0o777).toBe(0o700);
  });

  it('refuses a symlink, a folder writable by others, and (as root) one owned by another user', () => {
    const dir = tempProject();
    const real = path.join(dir, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, path.join(dir, 'link'));
    expect(() => ensureWorkspaceRoot(path.join(dir, 'link'))).toThrow(/not a folder/);
    const open = path.join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => ensureWorkspaceRoot(open)).toThrow(/writable by other users/);
    if (process.getuid?.() === 0) {
      const theirs = path.join(dir, 'theirs');
      mkdirSync(theirs, { mode: 0o700 });
      chownSync(theirs, 65534, 65534);
      expect(() => ensureWorkspaceRoot(theirs)).toThrow(/belongs to uid 65534/);
    }
  });

  it('gives an agent its own 0700 workspace, owned by the agent user when there is one', () => {
    const root = path.join(tempProject(), 'ws');
    const mine = createWorkspace(root, 'agent-1');
    expect(statSync(mine).mode & 0o777).toBe(0o700);
    if (process.getuid?.() === 0) {
      const theirs = createWorkspace(root, 'agent-2', { uid: 65534, gid: 65534 });
      expect(statSync(theirs).uid).toBe(65534);
    }
  });
});
