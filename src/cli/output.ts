import type { QiError, Result } from '@qi/base';
import type { DestinationStream } from 'pino';
import { ERROR_CATALOGUE } from '../errors/catalogue.js';
import type { AgentExecutionResult, AggregatedResult, CoordinationResult } from '../execution/types.js';
import { humanLogDestination } from '../logging/human.js';
import { safeStringify } from '../util/safe-json.js';

/** Exit codes of the CLI (DESIGN A8); a signal's code is 128 + its number. */
export const EXIT = { ok: 0, failed: 1, invalid: 2, environment: 3, interrupted: 130, terminated: 143 } as const;

/** How a command writes: one JSON document or human text; logs as human lines or pino JSON. */
export interface OutputMode {
  readonly json: boolean;
  readonly verbose: boolean;
  readonly logFormat: 'human' | 'json';
}

export const HUMAN: OutputMode = { json: false, verbose: false, logFormat: 'human' };

/** Where the coordinator's logs go: human lines on stderr by default, pino JSON lines with --log-format json. */
export function logDestination(mode: OutputMode): DestinationStream | undefined {
  return mode.logFormat === 'json' ? undefined : humanLogDestination(process.stderr);
}

/**
 * Exit code for an error that stopped a command before its task ran: bad input or config
 * (including a budget the task can never fit) → 2; the host (sandbox, file system, network) → 3.
 */
export function exitCodeFor(error: QiError): number {
  if (error.category === 'VALIDATION' || error.category === 'CONFIGURATION') return EXIT.invalid;
  if (error.code === 'INSUFFICIENT_RESOURCES' || error.code === 'NOT_DISTRIBUTABLE' || error.code === 'RUN_LOCKED') return EXIT.invalid;
  if (error.code === 'INTERNAL' || error.code === 'CANCELLED') return EXIT.failed;
  if (error.category === 'SYSTEM' || error.category === 'AUTHORIZATION' || error.category === 'NETWORK') return EXIT.environment;
  return EXIT.failed;
}

/** Writes exactly one JSON document (the Result) to stdout; never throws (see safeStringify). */
export function printJson(result: Result<unknown, QiError>): void {
  process.stdout.write(`${safeStringify(result, 2)}\n`);
}

/** A JSON Reference: an RFC 6901 pointer into the same printed document. */
export interface JsonRef {
  readonly $ref: string;
}

/** The reference to one subtask's outputs in a printed run result (`~` and `/` escaped as RFC 6901 says). */
export function outputsRef(subtaskId: string): JsonRef {
  return { $ref: `#/aggregatedResult/outputs/${subtaskId.replaceAll('~', '~0').replaceAll('/', '~1')}` };
}

/** A run result as `--json` prints it: each output value once (see {@link outputsOnce}). */
export type PrintedCoordinationResult<R extends CoordinationResult> = Omit<R, 'results' | 'aggregatedResult'> & {
  readonly results: readonly (Omit<AgentExecutionResult, 'result'> & { readonly result?: Readonly<Record<string, unknown>> })[];
  readonly aggregatedResult: Omit<AggregatedResult, 'combinedResults'> & { readonly combinedResults: readonly unknown[] };
};

/**
 * The run result with every output value printed once. A CoordinationResult holds each
 * subtask's outputs in three places — `results[].result[subtaskId]`,
 * `aggregatedResult.outputs[subtaskId]` and `aggregatedResult.combinedResults[i]` — as one
 * object in memory but three copies in JSON (a 50 MB output would print 150 MB). The printed
 * document keeps the values in `aggregatedResult.outputs`; the other two hold a JSON Reference,
 * `{ "$ref": "#/aggregatedResult/outputs/<subtaskId>" }`, in the same places. By construction
 * `results[].result[id]` is `outputs[id]` and `combinedResults` is `Object.values(outputs)`.
 */
export function outputsOnce<R extends CoordinationResult>(result: R): PrintedCoordinationResult<R> {
  const { results, aggregatedResult, ...rest } = result;
  const { outputs, combinedResults } = aggregatedResult;
  const ids = Object.keys(outputs);
  return {
    ...rest,
    results: results.map(({ result: byId, ...r }) =>
      byId === undefined ? r : { ...r, result: Object.fromEntries(Object.entries(byId).map(([id, value]) => [id, Object.hasOwn(outputs, id) ? outputsRef(id) : value])) },
    ),
    aggregatedResult: { ...aggregatedResult, combinedResults: combinedResults.length === ids.length ? ids.map(outputsRef) : combinedResults },
  };
}

/** The fix for an error: the one its message gives, else the catalogue's. */
function fixOf(error: QiError): string | undefined {
  if (/\bfix:/i.test(error.message)) return undefined;
  const entry = (ERROR_CATALOGUE as Record<string, { fix: string } | undefined>)[error.code];
  if (entry === undefined) return undefined;
  // A pointer into the JSON context (context.issues…) says nothing to a reader of the lines above: keep what follows it.
  const parts = entry.fix.split(';').map((p) => p.trim()).filter((p) => !p.includes('context.'));
  return parts.length === 0 ? undefined : parts.join('; ');
}

/**
 * An error for a human: the cause on the first line (never cut), any further lines of the
 * message (one per problem), then the fix; the stack only when verbose.
 */
export function formatError(error: QiError, verbose = false): string {
  const lines = [`error [${error.code}] ${error.message}`];
  const fix = fixOf(error);
  if (fix !== undefined) lines.push(`fix: ${fix}`);
  const stack = error.context['stack'];
  if (typeof stack === 'string') lines.push(verbose ? stack : '(run with --verbose for the stack)');
  return `${lines.join('\n')}\n`;
}

/** Human output of a failure on stderr. */
export function printError(error: QiError, verbose = false): void {
  process.stderr.write(formatError(error, verbose));
}

/** Reports a failure — as the JSON Result with --json, else on stderr — and returns its exit code. */
export function reportFailure(result: { readonly tag: 'failure'; readonly error: QiError }, mode: Pick<OutputMode, 'json'> & Partial<OutputMode>): number {
  if (mode.json) printJson(result);
  else printError(result.error, mode.verbose ?? false);
  return exitCodeFor(result.error);
}

/** What a command returns: its exit code. */
export type CommandResult = Promise<number>;
