import type { QiError, Result } from '@qi/base';
import { safeStringify } from '../util/safe-json.js';

/** Exit codes of the CLI (DESIGN A8). */
export const EXIT = { ok: 0, failed: 1, invalid: 2, environment: 3, interrupted: 130 } as const;

/** Exit code for an error that stopped a command before it ran: bad input/config → 2, environment → 3. */
export function exitCodeFor(error: QiError): number {
  if (error.category === 'VALIDATION' || error.category === 'CONFIGURATION') return EXIT.invalid;
  if (error.code === 'SANDBOX_UNAVAILABLE') return EXIT.environment;
  return EXIT.failed;
}

/** Writes exactly one JSON document (the Result) to stdout; never throws (see safeStringify). */
export function printJson(result: Result<unknown, QiError>): void {
  process.stdout.write(`${safeStringify(result, 2)}\n`);
}

/** Human output of a failure on stderr: the message, then each issue by path. */
export function printError(error: QiError): void {
  process.stderr.write(`error [${error.code}] ${error.message}\n`);
}

/** Reports a failure — as the JSON Result with --json, else on stderr — and returns its exit code. */
export function reportFailure(result: { readonly tag: 'failure'; readonly error: QiError }, json: boolean): number {
  if (json) printJson(result);
  else printError(result.error);
  return exitCodeFor(result.error);
}

/** What a command returns: its exit code. */
export type CommandResult = Promise<number>;
