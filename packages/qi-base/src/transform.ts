/**
 * Synchronous, data-last Result transforms. A failure passes through every
 * transform untouched: the same Result object, hence the same error object.
 * @module
 */

import { failure, success, type Result } from './result.js';

/** Applies `fn` to a success value; a failure is returned as is. */
export function map<T, U, E>(fn: (value: T) => U, r: Result<T, E>): Result<U, E> {
  return r.tag === 'success' ? success(fn(r.value)) : r;
}

/** Applies `fn` to a failure error; a success is returned as is. */
export function mapError<T, E, F>(fn: (error: E) => F, r: Result<T, E>): Result<T, F> {
  return r.tag === 'failure' ? failure(fn(r.error)) : r;
}

/** Chains a Result-returning `fn` on a success value; a failure is returned as is. */
export function flatMap<T, U, E, F = E>(
  fn: (value: T) => Result<U, F>,
  r: Result<T, E>,
): Result<U, E | F> {
  return r.tag === 'success' ? fn(r.value) : r;
}

/** Alias of {@link flatMap}. */
export const andThen = flatMap;

/** Calls `fn` with a success value for its side effect and returns `r` itself. */
export function inspect<T, E>(fn: (value: T) => void, r: Result<T, E>): Result<T, E> {
  if (r.tag === 'success') {
    fn(r.value);
  }
  return r;
}

/** Calls `fn` with a failure error for its side effect and returns `r` itself. */
export function inspectErr<T, E>(fn: (error: E) => void, r: Result<T, E>): Result<T, E> {
  if (r.tag === 'failure') {
    fn(r.error);
  }
  return r;
}

/** Flattens `Result<Result<T>>` into `Result<T>`; an outer failure is returned as is. */
export function collect<T, E, F = E>(r: Result<Result<T, F>, E>): Result<T, E | F> {
  return r.tag === 'success' ? r.value : r;
}

/**
 * Keeps a success whose value satisfies `pred`; otherwise returns
 * `failure(errIfFalse)`. A failure is returned as is.
 */
export function filter<T, S extends T, E>(
  pred: (value: T) => value is S,
  errIfFalse: E,
  r: Result<T, E>,
): Result<S, E>;
export function filter<T, E>(pred: (value: T) => boolean, errIfFalse: E, r: Result<T, E>): Result<T, E>;
export function filter<T, E>(pred: (value: T) => boolean, errIfFalse: E, r: Result<T, E>): Result<T, E> {
  if (r.tag === 'failure' || pred(r.value)) {
    return r;
  }
  return failure(errIfFalse);
}

/** Recovers from a failure with `alt(error)`; a success is returned as is. */
export function orElse<T, E, F>(alt: (error: E) => Result<T, F>, r: Result<T, E>): Result<T, F> {
  return r.tag === 'failure' ? alt(r.error) : r;
}
