/**
 * CPU placement for the round-trip figures. A round trip between two processes costs about 3×
 * more when they sit on different CPUs (a cross-CPU wake-up) than on the same one, and the
 * scheduler picks either from run to run: an unpinned baseline is bimodal. Pinning both ends
 * with `taskset` (every thread: `-a`) measures each placement on purpose.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** True when `taskset` can pin here and there are at least two CPUs to place processes on. */
export function canPin() {
  if (os.availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Pins every thread of `pid` to CPU `cpu` (a number) or a list (`'0-1'`). */
export function pin(pid, cpu) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** Every CPU of the machine, as taskset's list. */
export const ALL_CPUS = `0-${os.availableParallelism() - 1}`;
