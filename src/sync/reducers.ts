/**
 * Built-in aggregation reducers (`sum`, `concat`, `merge`) and the call into plugin reducers.
 * @module
 */
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import { isPlainObject } from '../util/objects.js';
import { preview } from './canonical.js';
import type { Reducer } from './types.js';

/** Names of the built-in reducers. */
export const BUILTIN_REDUCERS: readonly string[] = ['sum', 'concat', 'merge'];

/** One participant's value at an aggregation point. */
export interface Contribution {
  readonly participant: string;
  readonly value: unknown;
}

function badValue(pointId: string, reducer: string, c: Contribution, expected: string): Result<unknown, QiError> {
  const got = c.value === undefined ? 'no value' : preview(c.value);
  return failure(
    qiError(
      'INVALID_SPEC',
      `aggregation point '${pointId}' (reducer '${reducer}'): participant '${c.participant}' sent ${got}, expected ${expected}; ` +
        `make it call ctx.sync('${pointId}', value) with ${expected}, or pick a reducer that accepts its value`,
      { pointId, reducer, participant: c.participant },
    ),
  );
}

function sum(pointId: string, contributions: readonly Contribution[]): Result<unknown, QiError> {
  let total = 0;
  for (const c of contributions) {
    if (typeof c.value !== 'number' || !Number.isFinite(c.value)) return badValue(pointId, 'sum', c, 'a finite number');
    total += c.value;
  }
  return success(total);
}

/** Arrays are spread, other values appended; a participant that sent no value adds nothing. */
function concat(contributions: readonly Contribution[]): Result<unknown, QiError> {
  const out: unknown[] = [];
  for (const c of contributions) {
    if (Array.isArray(c.value)) out.push(...(c.value as readonly unknown[]));
    else if (c.value !== undefined) out.push(c.value);
  }
  return success(out);
}

/** Plain objects shallow-merged in order, later wins; keys are defined, never assigned, so `__proto__` stays data. */
function merge(pointId: string, contributions: readonly Contribution[]): Result<unknown, QiError> {
  const out: Record<string, unknown> = {};
  for (const c of contributions) {
    if (!isPlainObject(c.value)) return badValue(pointId, 'merge', c, 'a plain object');
    for (const [key, value] of Object.entries(c.value)) {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
  }
  return success(out);
}

/**
 * Reduces `contributions` (already in participant order) with the named reducer: built-ins
 * first, then `plugins`. An unknown name fails with `INVALID_SPEC`; a plugin that throws
 * fails with `AGENT_ERROR`.
 */
export function reduceContributions(
  pointId: string,
  name: string,
  contributions: readonly Contribution[],
  plugins?: ReadonlyMap<string, Reducer>,
): Result<unknown, QiError> {
  if (name === 'sum') return sum(pointId, contributions);
  if (name === 'concat') return concat(contributions);
  if (name === 'merge') return merge(pointId, contributions);
  const plugin = plugins?.get(name);
  if (plugin === undefined) {
    const known = [...BUILTIN_REDUCERS, ...(plugins?.keys() ?? [])].join(', ');
    return failure(
      qiError('INVALID_SPEC', `aggregation point '${pointId}' names unknown reducer '${name}'; use one of: ${known}`, {
        pointId,
        reducer: name,
      }),
    );
  }
  try {
    return success(plugin(contributions.map((c) => c.value)));
  } catch (e: unknown) {
    const message = e instanceof Error ? e.message : String(e);
    return failure(
      qiError('AGENT_ERROR', `aggregation point '${pointId}': plugin reducer '${name}' threw: ${message}; fix the reducer plugin`, {
        pointId,
        reducer: name,
        stack: e instanceof Error ? e.stack : undefined,
      }),
    );
  }
}
