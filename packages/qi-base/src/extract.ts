/**
 * Getting values out of a Result: unwrap, unwrapOr, match.
 * @module
 */

import { errorToString, fromException, isQiError, type QiError } from './error.js';
import type { Result } from './result.js';

/**
 * Returns the success value, or throws an `Error` for a failure. The thrown error's
 * message is `[CODE] message` ({@link errorToString}) and it carries the QiError as
 * `.qiError`. A non-QiError error is first converted with {@link fromException}.
 */
export function unwrap<T, E>(r: Result<T, E>): T {
  if (r.tag === 'success') {
    return r.value;
  }
  const qiError: QiError = isQiError(r.error) ? r.error : fromException(r.error);
  throw Object.assign(new Error(errorToString(qiError)), { qiError });
}

/** Returns the success value, or `defaultValue` for a failure. */
export function unwrapOr<T, E>(defaultValue: T, r: Result<T, E>): T {
  return r.tag === 'success' ? r.value : defaultValue;
}

/** Folds a Result into one value: `onSuccess(value)` or `onError(error)`. */
export function match<T, E, R>(
  onSuccess: (value: T) => R,
  onError: (error: E) => R,
  r: Result<T, E>,
): R {
  return r.tag === 'success' ? onSuccess(r.value) : onError(r.error);
}
