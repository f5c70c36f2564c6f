/**
 * Asynchronous Result combinators: `…Async` take a Result and an async function,
 * `…Promise` take a `Promise<Result>`. Failures pass through untouched.
 * Rejections (of the given promises or of the callbacks) are not caught here;
 * use {@link fromAsyncTryCatch} to turn them into failures.
 * @module
 */

import { success, type Result } from './result.js';

/** Chains an async Result-returning `fn` on a success value; a failure resolves to itself. */
export async function flatMapAsync<T, U, E, F = E>(
  fn: (value: T) => Promise<Result<U, F>> | Result<U, F>,
  r: Result<T, E>,
): Promise<Result<U, E | F>> {
  return r.tag === 'success' ? fn(r.value) : r;
}

/** Maps a success value through an async `fn`; a failure resolves to itself. */
export async function mapAsync<T, U, E>(
  fn: (value: T) => Promise<U> | U,
  r: Result<T, E>,
): Promise<Result<U, E>> {
  return r.tag === 'success' ? success(await fn(r.value)) : r;
}

/** Folds a Result with async handlers into a promise of one value. */
export async function matchAsync<T, E, R>(
  onSuccess: (value: T) => Promise<R> | R,
  onError: (error: E) => Promise<R> | R,
  r: Result<T, E>,
): Promise<R> {
  return r.tag === 'success' ? onSuccess(r.value) : onError(r.error);
}

/** Awaits `p`, then chains a (possibly async) Result-returning `fn` on a success value. */
export async function flatMapPromise<T, U, E, F = E>(
  fn: (value: T) => Promise<Result<U, F>> | Result<U, F>,
  p: PromiseLike<Result<T, E>>,
): Promise<Result<U, E | F>> {
  return flatMapAsync(fn, await p);
}

/** Awaits `p`, then maps a success value through a (possibly async) `fn`. */
export async function mapPromise<T, U, E>(
  fn: (value: T) => Promise<U> | U,
  p: PromiseLike<Result<T, E>>,
): Promise<Result<U, E>> {
  return mapAsync(fn, await p);
}

/** Awaits `p`, then folds it with (possibly async) handlers. */
export async function matchPromise<T, E, R>(
  onSuccess: (value: T) => Promise<R> | R,
  onError: (error: E) => Promise<R> | R,
  p: PromiseLike<Result<T, E>>,
): Promise<R> {
  return matchAsync(onSuccess, onError, await p);
}

/**
 * Waits for ALL the given results to settle, then: if every one succeeded,
 * resolves to `success` of their values in the SAME ORDER as the input; otherwise
 * resolves to the failure that comes FIRST IN ARRAY ORDER (lowest index), not
 * the one that settled first; that failure Result object is returned as is.
 * An empty input gives `success([])`. If any input promise rejects, the returned
 * promise rejects with that reason (as `Promise.all` does).
 */
export async function sequenceAsync<T, E>(
  promises: ReadonlyArray<PromiseLike<Result<T, E>> | Result<T, E>>,
): Promise<Result<T[], E>> {
  const results = await Promise.all(promises);
  const values: T[] = [];
  for (const r of results) {
    if (r.tag === 'failure') {
      return r;
    }
    values.push(r.value);
  }
  return success(values);
}

/**
 * Waits for all the given results and partitions them into success values and
 * failure errors; both arrays keep input order. Rejects if any input rejects.
 */
export async function collectAsync<T, E>(
  promises: ReadonlyArray<PromiseLike<Result<T, E>> | Result<T, E>>,
): Promise<{ successes: T[]; failures: E[] }> {
  const results = await Promise.all(promises);
  const successes: T[] = [];
  const failures: E[] = [];
  for (const r of results) {
    if (r.tag === 'success') {
      successes.push(r.value);
    } else {
      failures.push(r.error);
    }
  }
  return { successes, failures };
}

/** Type guard: `true` when `x` is a promise (any thenable) rather than a plain Result. */
export function isPromiseResult<T, E>(
  x: Result<T, E> | PromiseLike<Result<T, E>>,
): x is PromiseLike<Result<T, E>> {
  return typeof x === 'object' && x !== null && 'then' in x && typeof x.then === 'function';
}
