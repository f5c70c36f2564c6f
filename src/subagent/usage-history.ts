/**
 * Releases what pidusage keeps for a process that is no longer watched. pidusage reads
 * `/proc/<pid>/stat` through a file descriptor it keeps open in its per-pid history, and closes
 * it only when the entry expires (60 s after the last reading); its `clear()` drops every entry
 * without closing them, which leaks the descriptors for good. And a first reading of a process
 * that dies between opening and reading its stat file drops the descriptor without recording it
 * at all (pidusage 4.1). An agent churn of hundreds per minute therefore held hundreds of
 * descriptors. This adapter closes the descriptors of pids that are no longer watched: the one
 * in the history (the fd-less entry expires on pidusage's own schedule), and any other open
 * descriptor on their `/proc/<pid>/stat`.
 * @module
 */
import { closeSync, readdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fdPath } from '../util/fd-path.js';

interface HistoryEntry {
  fd?: number | undefined;
}

interface History {
  get(pid: number, maxage?: number): HistoryEntry | undefined;
}

/** pidusage's history module (internal: its shape is checked, and a change only disables this cleanup). */
function loadHistory(): History | undefined {
  try {
    const history = createRequire(import.meta.url)('pidusage/lib/history.js') as Partial<History>;
    return typeof history.get === 'function' ? (history as History) : undefined;
  } catch {
    return undefined;
  }
}

/** Closes pidusage's `/proc/<pid>/stat` descriptors of pids that are no longer read. */
export class UsageHistory {
  private readonly history = loadHistory();

  /**
   * Closes the descriptor pidusage holds for `pid`. Call only when no pidusage reading of `pid`
   * is in flight (a closed number could be reused by another file under that reading).
   */
  release(pids: ReadonlySet<number>): void {
    if (pids.size === 0) return;
    for (const pid of pids) {
      // maxage 1: the entry also expires on pidusage's next sweep.
      const entry = this.history?.get(pid, 1);
      if (entry?.fd === undefined) continue;
      const fd = entry.fd;
      entry.fd = undefined;
      closeQuietly(fd);
    }
    for (const [fd, pid] of statDescriptors()) if (pids.has(pid)) closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing held.
  }
}

/** This process's descriptors open on some `/proc/<pid>/stat`, with that pid. */
function statDescriptors(): [number, number][] {
  const out: [number, number][] = [];
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const pid = /^\/proc\/(\d+)\/stat$/.exec(readlinkSync(fdPath(Number(fd))))?.[1];
      if (pid !== undefined) out.push([Number(fd), Number(pid)]);
    } catch {
      // Closed meanwhile (the listing's own descriptor).
    }
  }
  return out;
}
