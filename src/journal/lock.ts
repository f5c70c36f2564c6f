import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/** A held run lock: release it when the run ends (a dead holder's lock is taken over anyway). */
export interface RunLock {
  release(): void;
}

/** True while a process with this pid exists (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid written in a lock file, or undefined (missing, unreadable, not a pid). */
export function lockHolder(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleepSync = (ms: number): void => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms) as unknown as void;

/** Creates `target` holding `source`'s content, atomically; false when `target` exists. */
function linkExclusive(source: string, target: string): boolean {
  try {
    linkSync(source, target);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone already.
  }
}

/** Removes `file` when the pid it names is dead (or it names none). */
function removeIfStale(file: string): void {
  const holder = lockHolder(file);
  if (holder === undefined || !pidAlive(holder)) unlinkQuietly(file);
}

const ATTEMPTS = 50;
const RETRY_MS = 10;

/**
 * Takes `<runDir>/lock`, naming this pid: only one process runs or resumes a run at a time.
 * Creation is atomic (the pid is written aside and hard-linked into place, which fails when a
 * lock exists). A lock whose pid is gone (a SIGKILLed coordinator) is taken over, under a second
 * lock (`lock.takeover`, same rule) so that two processes taking over the same stale lock cannot
 * both win. A live holder is a RUN_LOCKED failure naming its pid.
 */
export function acquireRunLock(runDir: string, runId: string): Result<RunLock, QiError> {
  const file = path.join(runDir, 'lock');
  const takeover = path.join(runDir, 'lock.takeover');
  const mine = path.join(runDir, `lock.${process.pid}`);
  const held: RunLock = { release: () => (lockHolder(file) === process.pid ? unlinkQuietly(file) : undefined) };
  try {
    writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (linkExclusive(mine, file)) return success(held);
      const holder = lockHolder(file);
      // This process counts as a live holder too: a run is never run twice at once, even by one host.
      if (holder !== undefined && pidAlive(holder)) {
        const who = holder === process.pid ? 'this process' : `process ${holder}`;
        return failure(qiError('RUN_LOCKED', `run ${runId} is being run by ${who}; wait for it to end, or stop it (kill ${holder}) and resume again`, { runId, pid: holder }));
      }
      // Stale: whoever holds the takeover lock replaces it; the others look again shortly.
      if (linkExclusive(mine, takeover)) {
        try {
          const again = lockHolder(file);
          if (again === holder || again === undefined) unlinkQuietly(file);
          if (linkExclusive(mine, file)) return success(held);
        } finally {
          unlinkQuietly(takeover);
        }
      } else {
        removeIfStale(takeover);
        sleepSync(RETRY_MS);
      }
    }
    return failure(qiError('RUN_LOCKED', `run ${runId} could not be locked: another process keeps taking it over; try again`, { runId }));
  } catch (e) {
    return failure(qiError('JOURNAL_UNAVAILABLE', `cannot lock run ${runId} in ${runDir}: ${e instanceof Error ? e.message : String(e)}`, { runId, runDir }));
  } finally {
    unlinkQuietly(mine);
  }
}
