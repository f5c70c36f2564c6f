/**
 * Message bodies: JSON validation, the size cap, and private copies for each recipient.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/** A validated message body: its JSON text and UTF-8 size. Each recipient parses its own copy. */
export interface Encoded {
  readonly json: string;
  readonly bytes: number;
}

/** Longest topic or queue name. */
export const MAX_NAME_LENGTH = 200;

function strictReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'function' || typeof value === 'symbol') throw new TypeError(`a ${typeof value} cannot be sent`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`${String(value)} cannot be sent`);
  return value;
}

/**
 * Serializes `body` once. Fails with `INVALID_MESSAGE` when it is not JSON data (a function,
 * symbol, bigint, non-finite number, cycle, or `undefined` itself) or when its JSON is longer
 * than `maxBytes` UTF-8 bytes. `undefined` object members are dropped, as JSON does.
 */
export function encodeBody(body: unknown, maxBytes: number, what: string): Result<Encoded, QiError> {
  let json: string | undefined;
  try {
    json = JSON.stringify(body, strictReplacer);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return failure(qiError('INVALID_MESSAGE', `${what}: the body is not JSON-serializable (${reason})`, { reason }));
  }
  if (json === undefined) {
    return failure(qiError('INVALID_MESSAGE', `${what}: the body is not JSON-serializable (${typeof body})`, { reason: typeof body }));
  }
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > maxBytes) {
    return failure(
      qiError('INVALID_MESSAGE', `${what}: the message is ${bytes} bytes, over the ${maxBytes}-byte cap`, { bytes, maxMessageBytes: maxBytes }),
    );
  }
  return success({ json, bytes });
}

/** A fresh copy of an encoded body. */
export function decodeBody(encoded: Encoded): unknown {
  return JSON.parse(encoded.json) as unknown;
}

/** Checks a topic or queue name: non-empty, at most {@link MAX_NAME_LENGTH} characters. */
export function checkName(kind: 'topic' | 'queue', name: unknown): Result<string, QiError> {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    const shown = typeof name === 'string' ? `${name.length} characters` : typeof name;
    return failure(
      qiError('INVALID_MESSAGE', `a ${kind} name must be a non-empty string of at most ${MAX_NAME_LENGTH} characters (got ${shown})`, {
        [kind]: typeof name === 'string' ? name.slice(0, MAX_NAME_LENGTH) : name,
      }),
    );
  }
  return success(name);
}
