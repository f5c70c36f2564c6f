/** Why an agent process ended on its own, judged from how it died and what it used. */
export type ExitCause = 'memory' | 'disk' | 'crash';

export interface ExitFacts {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last bytes of its stderr (V8 and the kernel caps leave their signatures there). */
  readonly stderrTail: string;
  /** Peak resident memory the monitor saw, MB, and the runtime's own footprint at start. */
  readonly peakRssMB: number;
  readonly baselineMB: number;
  readonly limitMB: number;
  /** The kernel's OOM killer killed a process of the agent's cgroup. */
  readonly oomKilled?: boolean;
}

/** What V8, libc and the allocator print when memory runs out (heap cap, data cap, WebAssembly). */
const OUT_OF_MEMORY =
  /Reached heap limit|JavaScript heap out of memory|Allocation failed|Fatal process out of memory|out of memory|Failed to reserve|Cannot allocate memory|could not allocate memory|Array buffer allocation failed/i;

/** Signals a process dies by when an allocation fails deep inside V8 or native code. */
const ALLOCATION_DEATHS: ReadonlySet<string> = new Set(['SIGSEGV', 'SIGABRT', 'SIGTRAP', 'SIGBUS', 'SIGILL', 'SIGKILL']);

/** Share of the memory limit above which a crash signal counts as a memory death. */
const NEAR_LIMIT = 0.75;

/**
 * A memory death whatever its signature: V8's heap-limit abort, a failed allocation under the
 * kernel data cap (SIGSEGV/SIGABRT/SIGTRAP), the kernel OOM killer (SIGKILL) — recognized by what
 * the process printed, or by a crash signal while its memory was near the limit. A file past
 * RLIMIT_FSIZE ends with SIGXFSZ: a disk death. Anything else is a crash.
 */
export function exitCause(facts: ExitFacts): ExitCause {
  if (facts.signal === 'SIGXFSZ') return 'disk';
  if (facts.oomKilled === true) return 'memory';
  if (OUT_OF_MEMORY.test(facts.stderrTail)) return 'memory';
  const used = facts.peakRssMB - facts.baselineMB;
  if (facts.signal !== null && ALLOCATION_DEATHS.has(facts.signal) && used >= NEAR_LIMIT * facts.limitMB) return 'memory';
  return 'crash';
}
