/**
 * File descriptors left before the process's soft limit. Starting an agent takes about ten
 * (pipes, its channel, /proc readings); when none are left, Node's spawn fails with EMFILE in a
 * way execa does not turn into a rejection (an 'error' event nobody listens to), which would
 * crash the coordinator. So the factory checks the headroom first and refuses the spawn with a
 * Result instead.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/** Descriptors kept free for everything else the coordinator opens (logs, sockets, files). */
const RESERVE = 32;
/** Descriptors a spawn in flight may still open (stdio and channel pipes, the spawn's error pipe). */
const PER_SPAWN = 8;

/** The soft RLIMIT_NOFILE from /proc/self/limits (undefined where it cannot be read, or unlimited). */
export function readFdLimit(limitsText?: string): number | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const soft = /^Max open files\s+(\S+)/m.exec(text)?.[1];
  const n = Number(soft);
  return soft === undefined || !Number.isFinite(n) ? undefined : n;
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Checks there is room for another agent's descriptors; the limit is read once per instance. */
export class FdHeadroom {
  constructor(private readonly limit: number | undefined = readFdLimit()) {}

  /** Room for one more spawn, next to `starting` spawns still in flight. */
  check(agentId: string, starting = 0): Result<void, QiError> {
    if (this.limit === undefined) return success(undefined);
    const open = openFds();
    if (open === undefined || open + RESERVE + PER_SPAWN * starting <= this.limit) return success(undefined);
    return failure(
      qiError('INSUFFICIENT_RESOURCES', `agent ${agentId} was not started: ${open} of the coordinator's ${this.limit} file descriptors are open (ulimit -n); raise the limit or lower maxConcurrentAgents`, {
        openFds: open,
        fdLimit: this.limit,
        reserve: RESERVE,
        starting,
      }),
    );
  }
}

/** A spawn that threw (EMFILE, ENFILE, ENOMEM, EAGAIN, or a bug) as a Result. */
export function spawnThrew(e: unknown): QiError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const message = e instanceof Error ? e.message : String(e);
  const exhausted = code === 'EMFILE' || code === 'ENFILE' || code === 'ENOMEM' || code === 'EAGAIN' || /stdio is not iterable/.test(message);
  return exhausted
    ? qiError('INSUFFICIENT_RESOURCES', `an agent could not be started: the host is out of ${code === 'ENOMEM' ? 'memory' : code === 'EAGAIN' ? 'processes' : 'file descriptors'} (${code ?? message})`, { cause: code ?? message })
    : qiError('INTERNAL', `an agent could not be started: ${message}`, { cause: message });
}
