import type { QiError } from '@qi/base';
import { failure, success } from '@qi/base';
import { z } from 'zod';
import { qiError } from '../../errors/catalogue.js';
import { errnoCode } from '../fs-errors.js';
import { defineTool } from '../types.js';

/** Most output kept per stream (stdout, stderr): 1 MiB; the rest is discarded (`truncated`). */
export const EXECUTE_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Grace between SIGTERM and SIGKILL of a timed-out process group. */
const KILL_GRACE_MS = 500;

/** Signals the whole process group of `pid` (it leads its own group: `detached`); gone is fine. */
function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group has already exited.
  }
}

function spawnFailure(code: string | undefined, command: string, message: string): QiError {
  const context = { command, errno: code ?? 'unknown' };
  if (code === 'ENOENT') return qiError('NOT_FOUND', `execute: command '${command}' not found; give an absolute path or one on the PATH of the agent's execute environment`, context);
  if (code === 'EACCES') return qiError('PROCESS_DENIED', `execute: the operating system refused to run '${command}' (EACCES); is it executable?`, context);
  return qiError('INTERNAL', `execute: could not start '${command}': ${message}`, context);
}

const decode = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');

/**
 * `execute {command, args?, timeoutMs?, input?}` → `{exitCode, signal, stdout, stderr, timedOut, truncated}`.
 * Runs through the policy's OS wrappers in the workspace with only the policy's environment, in its
 * own process group; on timeout or cancel the whole group is killed, and nothing it started outlives
 * the call. A non-zero exit code is a successful call; a command that cannot start is a failure.
 */
export const executeTool = defineTool({
  name: 'execute',
  operation: 'process',
  fileOperation: false,
  networkRequest: false,
  args: z.strictObject({
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    timeoutMs: z.number().int().positive().optional(),
    input: z.string().optional(),
  }),
  async run(args, ctx) {
    const { execute, workspace } = ctx.policy;
    const line = execute.wrap(args.command, args.args ?? []);
    const timeoutMs = Math.min(args.timeoutMs ?? execute.defaultTimeoutMs, execute.defaultTimeoutMs);
    const filter = execute.seccompFilter ?? null;
    // fd 4 carries the seccomp program to bubblewrap, as for the agent itself (fd 3 stays closed).
    const stdio = filter === null ? {} : { stdio: [args.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', 'ignore', 'pipe'] as const };
    const input = args.input === undefined ? (filter === null ? { stdin: 'ignore' as const } : {}) : { input: args.input };
    // Loaded on the first call: a coordinator whose agents never run commands does not carry execa.
    const { execa } = await import('execa');
    const subprocess = execa(line.command, line.args, {
      ...stdio,
      ...input,
      cwd: workspace,
      extendEnv: false,
      env: { ...execute.env },
      timeout: timeoutMs,
      forceKillAfterDelay: KILL_GRACE_MS,
      reject: false,
      encoding: 'buffer',
      maxBuffer: { stdout: EXECUTE_MAX_OUTPUT_BYTES, stderr: EXECUTE_MAX_OUTPUT_BYTES },
      stripFinalNewline: false,
      detached: true,
      cancelSignal: ctx.signal,
    });
    if (filter !== null) (subprocess.stdio[4] as NodeJS.WritableStream | undefined)?.end(Buffer.from(filter));
    const pid = subprocess.pid;
    let groupTimedOut = false;
    let grace: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      groupTimedOut = true;
      killGroup(pid, 'SIGTERM');
      grace = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    const onAbort = (): void => killGroup(pid, 'SIGKILL');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const result = await subprocess;
    clearTimeout(deadline);
    clearTimeout(grace);
    ctx.signal.removeEventListener('abort', onAbort);
    killGroup(pid, 'SIGKILL');

    if (result.isCanceled || ctx.signal.aborted) return failure(qiError('CANCELLED', `execute '${args.command}' was cancelled`, { command: args.command }));
    if (result.failed && result.exitCode === undefined && result.signal === undefined && !result.timedOut && !result.isMaxBuffer) {
      return failure(spawnFailure(errnoCode(result), args.command, result.message ?? 'unknown error'));
    }
    const stdout = decode(result.stdout);
    const stderr = decode(result.stderr);
    const over = (bytes: Uint8Array): boolean => result.isMaxBuffer && bytes.byteLength >= EXECUTE_MAX_OUTPUT_BYTES;
    return success({
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      stdout,
      stderr,
      timedOut: result.timedOut || groupTimedOut,
      truncated: { stdout: over(result.stdout), stderr: over(result.stderr) },
    });
  },
});
