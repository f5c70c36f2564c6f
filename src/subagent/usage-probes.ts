import { lstatSync, opendirSync, readFileSync, type Dir } from 'node:fs';
import path from 'node:path';

const MB = 1024 * 1024;
/** Page size of x86-64 and arm64 Linux, the hosts qicoord supports. */
const PAGE_BYTES = 4096;

/** Resident memory of a pid right now, read synchronously from /proc/<pid>/statm (0 where unavailable). */
export function residentMB(pid: number): number {
  return residentMBOf(pid) ?? 0;
}

/** Resident memory of a pid right now (/proc/<pid>/statm), or undefined when it is gone or unreadable. */
export function residentMBOf(pid: number): number | undefined {
  try {
    const resident = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Number.isFinite(resident) ? (resident * PAGE_BYTES) / MB : undefined;
  } catch {
    return undefined;
  }
}

/** The direct children of a pid (from its main thread's children list; empty when gone). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Every descendant of a pid, breadth first (a process started by the agent, and its own children). */
export function descendantsOf(pid: number, limit = 4096): number[] {
  const out: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0 && out.length < limit) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...childrenOf(next));
  }
  return out;
}

/** Resident memory of every descendant of `pid` together, MB: what an agent hides in child processes. */
export function descendantsResidentMB(pid: number): number {
  let total = 0;
  for (const child of descendantsOf(pid)) total += residentMB(child);
  return total;
}

/** What a walk of a folder found: bytes on disk, and entries seen (all of them, or `maxEntries` + 1 where it stopped). */
export interface DiskUsage {
  readonly bytes: number;
  readonly entries: number;
}

/**
 * Bytes a folder really holds on disk (allocated blocks, so a sparse file counts what it uses),
 * walked without following links; gone entries are skipped. The walk reads at most `maxEntries`
 * entries (its `entries` then says `maxEntries + 1`), a folder's names a few at a time: a listing
 * read whole first (readdirSync) would cost a folder of a million files its whole listing before
 * the cap could stop it, and every entry costs the coordinator ~3 µs, synchronously.
 */
export function diskUsage(root: string, maxEntries: number): DiskUsage {
  let total = 0;
  let seen = 0;
  const stack = [root];
  while (stack.length > 0 && seen <= maxEntries) {
    const dir = stack.pop()!;
    let listing: Dir;
    try {
      listing = opendirSync(dir);
    } catch {
      continue;
    }
    try {
      for (let entry = listing.readSync(); entry !== null && ++seen <= maxEntries; entry = listing.readSync()) {
        const file = path.join(dir, entry.name);
        try {
          const st = lstatSync(file);
          total += st.blocks * 512;
          if (st.isDirectory()) stack.push(file);
        } catch {
          // Removed while we walked.
        }
      }
    } catch {
      // The folder went while we read it.
    } finally {
      listing.closeSync();
    }
  }
  return { bytes: total, entries: seen };
}
