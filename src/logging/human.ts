import type { DestinationStream } from 'pino';

/** pino's numeric levels, as words. */
const LEVELS: Readonly<Record<number, string>> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Record keys that are pino's bookkeeping, not something a reader needs. */
const HIDDEN = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'v', 'component', 'stack', 'err']);
const MAX_VALUE_CHARS = 200;

function shown(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
  }
  return String(value);
}

/** One pino JSON line as a human line: `qicoord warn: message (key=value …)`. */
export function formatLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = LEVELS[Number(record['level'])] ?? String(record['level']);
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => [key, shown(value)] as const)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`);
  const msg = typeof record['msg'] === 'string' ? record['msg'] : '';
  return `qicoord ${level}: ${msg}${fields.length === 0 ? '' : ` (${fields.join(' ')})`}\n`;
}

/** A pino destination that writes human lines (not JSON) to a stream, e.g. stderr for the CLI. */
export function humanLogDestination(out: NodeJS.WritableStream): DestinationStream {
  return { write: (line: string) => void out.write(formatLogLine(line)) };
}
