/** Helpers shared by the scaling scripts: flags, open fds, heap after GC. */
import { readdirSync, readlinkSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

/** `--name=value` flags as numbers (or strings), with defaults. */
export function flags(defaults) {
  const out = { ...defaults };
  for (const arg of process.argv.slice(2)) {
    const m = /^--([^=]+)=(.*)$/.exec(arg);
    if (m !== null) out[m[1]] = typeof defaults[m[1]] === 'number' ? Number(m[2]) : m[2];
  }
  return out;
}

/** Open file descriptors of this process. */
export function openFds() {
  return readdirSync('/proc/self/fd').length;
}

/** What each open descriptor points at. */
export function fdTargets() {
  const out = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // Closed meanwhile (the directory listing's own descriptor).
    }
  }
  return out;
}

/** Targets in `after` that `before` did not have (as many times as they are extra). */
export function extraFds(before, after) {
  const left = [...before];
  return after.filter((t) => {
    const i = left.indexOf(t);
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

/** Heap used after a full GC, MB (needs --expose-gc). */
export async function heapAfterGcMB() {
  if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Of the heap in use, what V8's code spaces hold (compiled and optimized code), MB. */
export function codeSpacesMB() {
  let used = 0;
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name.startsWith('code_')) used += space.space_used_size;
  }
  return used / 2 ** 20;
}

export const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
