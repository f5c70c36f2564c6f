import { closeSync, constants, fstatSync, lstatSync, openSync, opendirSync, readFileSync, type Dir } from 'node:fs';
import path from 'node:path';
import { fdPath } from '../util/fd-path.js';

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

/** A folder to read, with the identity (device, inode) it had when the walk found it. */
interface FolderToRead {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** A folder opened without following a link at its last step (an open that meets a link fails). */
const FOLDER_OPEN = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Bytes a folder really holds on disk (allocated blocks, so a sparse file counts what it uses),
 * walked without following links; gone entries are skipped. The walk reads at most `maxEntries`
 * entries (its `entries` then says `maxEntries + 1`), a folder's names a few at a time: a listing
 * read whole first (readdirSync) would cost a folder of a million files its whole listing before
 * the cap could stop it, and every entry costs the coordinator ~3 µs, synchronously.
 *
 * The folder belongs to an agent, which may swap any folder in it for a link while the walk runs
 * (rename is atomic). A walk that found a folder and later opened its path would then read
 * wherever the link points, as the coordinator's user: a race an agent wins ~100 times in 3 s of
 * trying. So each folder is opened (never through a link at its last step), checked to be the
 * folder the walk found (same device and inode, else skipped), and its entries are read and
 * stat-ed through that open folder (`/proc/self/fd/N/name`), never through its path again.
 */
export function diskUsage(root: string, maxEntries: number): DiskUsage {
  let total = 0;
  let seen = 0;
  const stack: FolderToRead[] = [];
  try {
    const st = lstatSync(root);
    if (st.isDirectory()) stack.push({ path: root, dev: st.dev, ino: st.ino });
  } catch {
    // No workspace (yet, or any more).
  }
  while (stack.length > 0 && seen <= maxEntries) {
    const folder = stack.pop()!;
    const fd = openFound(folder);
    if (fd === undefined) continue;
    const here = fdPath(fd);
    let listing: Dir | undefined;
    try {
      listing = opendirSync(here);
      for (let entry = listing.readSync(); entry !== null && ++seen <= maxEntries; entry = listing.readSync()) {
        try {
          const st = lstatSync(`${here}/${entry.name}`);
          total += st.blocks * 512;
          if (st.isDirectory()) stack.push({ path: path.join(folder.path, entry.name), dev: st.dev, ino: st.ino });
        } catch {
          // Removed while we walked.
        }
      }
    } catch {
      // The folder went while we read it.
    } finally {
      listing?.closeSync();
      closeSync(fd);
    }
  }
  return { bytes: total, entries: seen };
}

/** The folder opened, if its path still leads to the very folder the walk found (else undefined: it was swapped or removed). */
function openFound(folder: FolderToRead): number | undefined {
  let fd: number;
  try {
    fd = openSync(folder.path, FOLDER_OPEN);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (st.dev === folder.dev && st.ino === folder.ino) return fd;
  } catch {
    // Fall through: closed below.
  }
  closeSync(fd);
  return undefined;
}
