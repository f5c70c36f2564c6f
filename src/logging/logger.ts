import { createRequire } from 'node:module';
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/** Key names whose values never reach a log line. */
const SECRET_KEY = /(token|secret|passw(or)?d|api[-_]?key|private[-_]?key|access[-_]?key|authorization|cookie|credential|session[-_]?id)/i;
/** Objects whose every value is redacted (environment maps). */
const SECRET_CONTAINER = /^(env|environment|headers)$/i;
const REDACTED = '[redacted]';
const MAX_DEPTH = 6;

function redactValue(value: unknown, extra: ReadonlySet<string>, depth: number, wholeObject: boolean): unknown {
  if (depth > MAX_DEPTH || typeof value !== 'object' || value === null) return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, extra, depth + 1, false));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (wholeObject && typeof v !== 'object') out[key] = REDACTED;
    else if (SECRET_KEY.test(key) || extra.has(key)) out[key] = REDACTED;
    else out[key] = redactValue(v, extra, depth + 1, SECRET_CONTAINER.test(key));
  }
  return out;
}

/**
 * Returns a copy of a log record with secrets replaced: values under keys named like tokens,
 * keys, passwords or cookies, every value of `env`/`headers` objects, and the extra key names given.
 */
export function redactSecrets(record: Record<string, unknown>, extraKeys: readonly string[] = []): Record<string, unknown> {
  return redactValue(record, new Set(extraKeys), 0, false) as Record<string, unknown>;
}

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  /** Extra key names to redact (config `logging.redact`). */
  readonly redact?: readonly string[];
  /** Where lines go; default stderr (stdout belongs to `--json`). */
  readonly destination?: DestinationStream;
}

/**
 * A logger that writes nothing, at level `silent`, without loading pino: an embedding host or a
 * bench that silences logging does not carry pino's module graph. Every child is itself.
 */
function silentLogger(): Logger {
  const noop = (): void => undefined;
  const logger = {
    level: 'silent',
    levelVal: Infinity,
    fatal: noop,
    error: noop,
    warn: noop,
    info: noop,
    debug: noop,
    trace: noop,
    silent: noop,
    flush: noop,
    child: () => logger,
    bindings: () => ({}),
    isLevelEnabled: () => false,
  };
  return logger as unknown as Logger;
}

/** The root logger: JSON lines on stderr, secrets redacted. Components take child loggers from it. */
export function createRootLogger(options: LoggerOptions = {}): Logger {
  if (options.level === 'silent') return silentLogger();
  // pino is loaded by the first logger that can write (synchronously: this stays a plain call).
  const pino = createRequire(import.meta.url)('pino') as typeof import('pino');
  const extra = options.redact ?? [];
  return pino(
    {
      name: 'qicoord',
      level: options.level ?? 'warn',
      base: { pid: process.pid },
      formatters: { log: (record) => redactSecrets(record, extra) },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A child logger for one component of the coordinator. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

/** A child logger for one SubAgent. */
export function agentLogger(parent: Logger, agentId: string, agentType?: string): Logger {
  return parent.child(agentType === undefined ? { agentId } : { agentId, agentType });
}

/** A child logger for one subtask on an agent. */
export function subtaskLogger(parent: Logger, subtaskId: string): Logger {
  return parent.child({ subtaskId });
}

/** Performance record (the spec's logPerformance): operation, duration and outcome with metadata. */
export function logPerformance(
  logger: Logger,
  operation: string,
  durationMs: number,
  ok: boolean,
  metadata: Record<string, unknown> = {},
): void {
  const record = { ...metadata, operation, durationMs: Math.round(durationMs * 1000) / 1000, success: ok, kind: 'performance' };
  // A failure is reported by the operation's Result; the record is for timing, at info level.
  logger.info(record, ok ? `${operation} took ${record.durationMs} ms` : `${operation} failed after ${record.durationMs} ms`);
}
