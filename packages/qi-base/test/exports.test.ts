import { describe, expect, it } from 'vitest';
import * as qi from '../src/index.js';

const functions = [
  // Result factories and queries
  'success', 'failure', 'Ok', 'Err', 'fromTryCatch', 'tryCatch', 'fromAsyncTryCatch',
  'fromMaybe', 'fromEither', 'isSuccess', 'isFailure', 'getValue', 'getError',
  // transforms
  'map', 'mapError', 'flatMap', 'andThen', 'inspect', 'inspectErr', 'collect', 'filter', 'orElse',
  // extraction
  'unwrap', 'unwrapOr', 'match',
  // async
  'flatMapAsync', 'mapAsync', 'matchAsync', 'flatMapPromise', 'mapPromise', 'matchPromise',
  'sequenceAsync', 'collectAsync', 'isPromiseResult',
  // QiError
  'create', 'createError', 'fromException', 'fromString', 'errorToString', 'getCategory',
  'toStructuredData', 'withContext', 'isErrorCategory', 'isQiError', 'getRetryStrategy',
  'validationError', 'networkError', 'systemError', 'businessError', 'authenticationError',
  'authorizationError', 'configurationError', 'timeoutError', 'resourceError',
  'concurrencyError', 'loggerError',
  // JSON
  'toJsonValue',
] as const;

describe('public surface', () => {
  it('exports exactly the documented runtime names', () => {
    expect(Object.keys(qi).sort()).toEqual([...functions, 'ErrorCategories'].sort());
  });

  it.each(functions)('%s is a function', (name) => {
    expect(typeof qi[name]).toBe('function');
  });

  it('ErrorCategories is a frozen array of 11', () => {
    expect(Array.isArray(qi.ErrorCategories)).toBe(true);
    expect(qi.ErrorCategories).toHaveLength(11);
  });
});
