import { statSync } from 'node:fs';
import path from 'node:path';
import type { AgentIdentity } from './types.js';

/** The identity agents take when the coordinator is root and the config names none: `nobody`. */
export const DEFAULT_AGENT_IDENTITY: AgentIdentity = { uid: 65534, gid: 65534 };

/**
 * Who agents run as: an unprivileged uid/gid when the coordinator is root (root in an agent could
 * leave setuid-root files, call setuid(), and read any file the permission model misses), else
 * null (agents keep the coordinator's own, unprivileged uid).
 */
export function agentIdentity(isRoot: boolean, configured: { uid: number | null; gid: number | null }): AgentIdentity | null {
  if (!isRoot) return null;
  return { uid: configured.uid ?? DEFAULT_AGENT_IDENTITY.uid, gid: configured.gid ?? configured.uid ?? DEFAULT_AGENT_IDENTITY.gid };
}

function modeOf(p: string): { mode: number; uid: number; gid: number; dir: boolean } | null {
  try {
    const st = statSync(p);
    return { mode: st.mode, uid: st.uid, gid: st.gid, dir: st.isDirectory() };
  } catch {
    return null;
  }
}

/** The permission bits that apply to `who` for a file owned by (uid, gid): owner, group or others. */
function bitsFor(who: AgentIdentity, st: { mode: number; uid: number; gid: number }): number {
  if (st.uid === who.uid) return (st.mode >> 6) & 7;
  if (st.gid === who.gid) return (st.mode >> 3) & 7;
  return st.mode & 7;
}

/** The ancestors of `p` (from the root down, `p` excluded). */
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(p); ; dir = path.dirname(dir)) {
    out.push(dir);
    if (dir === path.dirname(dir)) break;
  }
  return out.reverse();
}

/**
 * Folders on the way to `paths` that `who` cannot traverse (e.g. `/root`, mode 0700): the sandbox
 * covers each with an empty tmpfs and binds the grants back in, so the agent reaches its grants
 * through fresh folders and sees nothing else of what they held. Highest first, deduplicated.
 */
export function untraversableAncestors(paths: readonly string[], who: AgentIdentity): string[] {
  const found = new Set<string>();
  for (const p of paths) {
    for (const dir of ancestors(p)) {
      if ([...found].some((f) => dir === f || dir.startsWith(f + path.sep))) break;
      const st = modeOf(dir);
      if (st !== null && (bitsFor(who, st) & 1) === 0) {
        found.add(dir);
        break;
      }
    }
  }
  return [...found];
}

/**
 * The first of `paths` that `who` cannot read itself (a folder needs read and search, a file
 * read), or undefined. Masking fixes the way to a grant, not the grant's own mode.
 */
export function unreadablePath(paths: readonly string[], who: AgentIdentity): string | undefined {
  return paths.find((p) => {
    const st = modeOf(p);
    if (st === null) return false;
    const bits = bitsFor(who, st);
    return st.dir ? (bits & 5) !== 5 : (bits & 4) === 0;
  });
}
