/**
 * Releases what pidusage keeps for a process that is no longer watched. pidusage reads
 * `/proc/<pid>/stat` through a file descriptor it keeps open in its per-pid history, and closes
 * it only when the entry expires (60 s after the last reading); its `clear()` drops every entry
 * without closing them, which leaks the descriptors for good. An agent churn of hundreds per
 * minute therefore held hundreds of descriptors. This adapter closes the descriptor of one pid
 * at once; the fd-less entry expires on pidusage's own schedule.
 * @module
 */
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';

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
  release(pid: number): void {
    // maxage 1: the entry also expires on pidusage's next sweep.
    const entry = this.history?.get(pid, 1);
    if (entry?.fd === undefined) return;
    const fd = entry.fd;
    entry.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Already closed: nothing held.
    }
  }
}
