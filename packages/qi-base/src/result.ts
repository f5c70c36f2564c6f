/**
 * Result<T, E>: plain-data success/failure values, their factories and queries.
 * @module
 */

import { fromException, type QiError } from './error.js';

/** The successful variant of a {@link Result}. */
export type Success<T> = { readonly tag: 'success'; readonly value: T };

/** The failed variant of a {@link Result}. */
export type Failure<E> = { readonly tag: 'failure'; readonly error: E };

/**
 * Either a success carrying a value or a failure carrying an error.
 * Plain frozen data (no classes, no methods), so it crosses JSON IPC unchanged.
 */
export type Result<T, E = QiError> = Success<T> | Failure<E>;

/**
 * The either shapes {@link fromEither} accepts:
 * fp-ts style `{ _tag: 'Right', right }` / `{ _tag: 'Left', left }`, and
 * lower-case `{ tag: 'right', right }` / `{ tag: 'left', left }`.
 */
export type EitherLike<E, T> =
  | { readonly _tag: 'Right'; readonly right: T }
  | { readonly _tag: 'Left'; readonly left: E }
  | { readonly tag: 'right'; readonly right: T }
  | { readonly tag: 'left'; readonly left: E };

/**
 * Wraps a value in a frozen {@link Success}. Typed as a `Result` whose error type
 * is inferred from context (`never` when there is none), so it composes directly.
 */
export function success<T, E = never>(value: T): Result<T, E> {
  return Object.freeze({ tag: 'success', value });
}

/**
 * Wraps an error in a frozen {@link Failure}. Typed as a `Result` whose value type
 * is inferred from context (`never` when there is none), so it composes directly.
 */
export function failure<E, T = never>(error: E): Result<T, E> {
  return Object.freeze({ tag: 'failure', error });
}

/** Alias of {@link success}. */
export const Ok = success;

/** Alias of {@link failure}. */
export const Err = failure;

/**
 * Runs `fn`; its return value becomes a success, a thrown value becomes a failure
 * via `onError` (default: {@link fromException}, category `SYSTEM`).
 */
export function fromTryCatch<T>(fn: () => T): Result<T, QiError>;
export function fromTryCatch<T, E>(fn: () => T, onError: (error: unknown) => E): Result<T, E>;
export function fromTryCatch<T, E>(
  fn: () => T,
  onError?: (error: unknown) => E,
): Result<T, E | QiError> {
  try {
    return success(fn());
  } catch (error: unknown) {
    return failure(onError === undefined ? fromException(error) : onError(error));
  }
}

/** Alias of {@link fromTryCatch}. */
export const tryCatch = fromTryCatch;

/**
 * Awaits `fn()`; its resolved value becomes a success, a throw or rejection becomes
 * a failure via `onError` (default: {@link fromException}). Never rejects unless `onError` throws.
 */
export function fromAsyncTryCatch<T>(fn: () => Promise<T>): Promise<Result<T, QiError>>;
export function fromAsyncTryCatch<T, E>(
  fn: () => Promise<T>,
  onError: (error: unknown) => E,
): Promise<Result<T, E>>;
export async function fromAsyncTryCatch<T, E>(
  fn: () => Promise<T>,
  onError?: (error: unknown) => E,
): Promise<Result<T, E | QiError>> {
  try {
    return success(await fn());
  } catch (error: unknown) {
    return failure(onError === undefined ? fromException(error) : onError(error));
  }
}

/** `null` or `undefined` becomes `failure(errIfNullish)`; any other value (including `0`, `''`, `false`) a success. */
export function fromMaybe<T, E = QiError>(value: T, errIfNullish: E): Result<NonNullable<T>, E> {
  return value === null || value === undefined ? failure(errIfNullish) : success(value);
}

/**
 * Converts an either into a Result: Right/right → success, Left/left → failure.
 * Accepts the shapes of {@link EitherLike}: fp-ts `{ _tag: 'Right', right }` /
 * `{ _tag: 'Left', left }` and `{ tag: 'right', right }` / `{ tag: 'left', left }`.
 */
export function fromEither<T, E>(either: EitherLike<E, T>): Result<T, E> {
  if ('_tag' in either) {
    return either._tag === 'Right' ? success(either.right) : failure(either.left);
  }
  return either.tag === 'right' ? success(either.right) : failure(either.left);
}

/** Type guard: `true` for a success. */
export function isSuccess<T, E>(r: Result<T, E>): r is Success<T> {
  return r.tag === 'success';
}

/** Type guard: `true` for a failure. */
export function isFailure<T, E>(r: Result<T, E>): r is Failure<E> {
  return r.tag === 'failure';
}

/** The success value, or `null` for a failure. */
export function getValue<T, E>(r: Result<T, E>): T | null {
  return r.tag === 'success' ? r.value : null;
}

/** The failure error, or `null` for a success. */
export function getError<T, E>(r: Result<T, E>): E | null {
  return r.tag === 'failure' ? r.error : null;
}
