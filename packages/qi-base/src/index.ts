/**
 * `@qi/base`: the QiCore foundation — `Result<T, E>` and `QiError` as plain,
 * frozen, JSON-safe data, with data-last combinators (the Result comes last).
 * @packageDocumentation
 */

export type { EitherLike, Failure, Result, Success } from './result.js';
export {
  Err,
  Ok,
  failure,
  fromAsyncTryCatch,
  fromEither,
  fromMaybe,
  fromTryCatch,
  getError,
  getValue,
  isFailure,
  isSuccess,
  success,
  tryCatch,
} from './result.js';

export {
  andThen,
  collect,
  filter,
  flatMap,
  inspect,
  inspectErr,
  map,
  mapError,
  orElse,
} from './transform.js';

export { match, unwrap, unwrapOr } from './extract.js';

export {
  collectAsync,
  flatMapAsync,
  flatMapPromise,
  isPromiseResult,
  mapAsync,
  mapPromise,
  matchAsync,
  matchPromise,
  sequenceAsync,
} from './async.js';

export type {
  CreateErrorOptions,
  ErrorCategory,
  QiError,
  RetryStrategy,
  StructuredErrorData,
} from './error.js';
export {
  ErrorCategories,
  authenticationError,
  authorizationError,
  businessError,
  concurrencyError,
  configurationError,
  create,
  createError,
  errorToString,
  fromException,
  fromString,
  getCategory,
  getRetryStrategy,
  isErrorCategory,
  isQiError,
  loggerError,
  networkError,
  resourceError,
  systemError,
  timeoutError,
  toStructuredData,
  validationError,
  withContext,
} from './error.js';

export type { JsonValue } from './json.js';
export { toJsonValue } from './json.js';
