/** Small process helpers: waiting for an IPC message or an exit, reading /proc. */
import { readFileSync } from 'node:fs';

/** Resolves with the child's first IPC message (rejects if it exits first). */
export function firstMessage(child) {
  return new Promise((resolve, reject) => {
    const onExit = (code, signal) => reject(new Error(`baseline child exited before its first message (code ${code}, signal ${signal})`));
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m);
    });
    child.once('exit', onExit);
  });
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGKILLs a child's process group and waits for its exit. */
export async function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  await exited(child);
}

/** True while the pid runs (exists and is not a zombie). */
export function running(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Polls /proc every `everyMs` until the pid no longer runs; resolves with the performance.now()
 * of the first poll that saw it gone.
 */
export function whenGone(pid, everyMs = 1) {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!running(pid)) {
        clearInterval(timer);
        resolve(performance.now());
      }
    }, everyMs);
  });
}

/** VmRSS (MB) of a pid from /proc/<pid>/status. */
export function rssMB(pid) {
  const m = /VmRSS:\s*(\d+)\s*kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** Private memory (USS: Private_Clean + Private_Dirty, MB) of a pid from /proc/<pid>/smaps_rollup. */
export function ussMB(pid) {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key) => Number(new RegExp(`${key}:\\s*(\\d+)\\s*kB`).exec(text)?.[1] ?? 0);
  return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
