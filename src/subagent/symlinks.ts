import { lstatSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** A link inside a granted dir that leads outside every grant. */
export interface EscapingLink {
  readonly link: string;
  readonly target: string;
}

const MAX_ENTRIES = 20_000;

function within(target: string, roots: readonly string[]): boolean {
  return roots.some((root) => target === root || target.startsWith(root.endsWith(path.sep) ? root : `${root}${path.sep}`));
}

/**
 * Walks granted directories for symlinks whose real target lies outside every granted root.
 * The Node permission model follows existing symlinks (on every version), so such a link would
 * let an agent read outside its grants; qicoord refuses to start the agent instead. `node_modules`
 * trees are not walked (a plugin's dependencies), and at most 20,000 entries are read per call.
 */
export function findEscapingLinks(dirs: readonly string[], grantedRoots: readonly string[]): EscapingLink[] {
  const roots = grantedRoots.map((r) => {
    try {
      return realpathSync(r);
    } catch {
      return r;
    }
  });
  const found: EscapingLink[] = [];
  const stack = [...dirs];
  let seen = 0;
  while (stack.length > 0 && seen < MAX_ENTRIES) {
    const dir = stack.pop()!;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) {
      if (++seen > MAX_ENTRIES) break;
      const entry = path.join(dir, name);
      let stat;
      try {
        stat = lstatSync(entry);
      } catch {
        continue;
      }
      if (stat.isSymbolicLink()) {
        let target: string;
        try {
          target = realpathSync(entry);
        } catch {
          continue; // dangling: leads nowhere readable
        }
        if (!within(target, roots)) found.push({ link: entry, target });
      } else if (stat.isDirectory() && name !== 'node_modules') {
        stack.push(entry);
      }
    }
  }
  return found;
}
