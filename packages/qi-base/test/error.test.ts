import { describe, expect, it } from 'vitest';
import {
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
  type ErrorCategory,
  type QiError,
} from '../src/index.js';

describe('categories', () => {
  it('lists all 11 categories, frozen', () => {
    expect([...ErrorCategories]).toEqual([
      'VALIDATION',
      'NETWORK',
      'SYSTEM',
      'BUSINESS',
      'AUTHENTICATION',
      'AUTHORIZATION',
      'CONFIGURATION',
      'TIMEOUT',
      'RESOURCE',
      'CONCURRENCY',
      'LOGGER',
    ]);
    expect(Object.isFrozen(ErrorCategories)).toBe(true);
  });

  it('isErrorCategory accepts exactly the categories', () => {
    for (const c of ErrorCategories) {
      expect(isErrorCategory(c)).toBe(true);
    }
    for (const x of ['validation', 'UNKNOWN', '', 1, null, undefined, {}, ['SYSTEM']]) {
      expect(isErrorCategory(x)).toBe(false);
    }
  });
});

describe('create / createError', () => {
  it('create builds a plain frozen error with a frozen copy of context', () => {
    const ctx = { user: 'u1' };
    const e = create('X', 'msg', 'BUSINESS', ctx);
    expect(e).toEqual({ code: 'X', message: 'msg', category: 'BUSINESS', context: { user: 'u1' } });
    expect(e).not.toBeInstanceOf(Error);
    expect(Object.getPrototypeOf(e)).toBe(Object.prototype);
    expect(Object.isFrozen(e)).toBe(true);
    expect(Object.isFrozen(e.context)).toBe(true);
    expect(e.context).not.toBe(ctx);
    expect(Object.isFrozen(ctx)).toBe(false);
  });

  it('create defaults context to {}', () => {
    expect(create('X', 'm', 'SYSTEM').context).toEqual({});
  });

  it('createError takes an options object, context optional', () => {
    expect(createError({ code: 'A', message: 'b', category: 'RESOURCE' })).toEqual(
      create('A', 'b', 'RESOURCE'),
    );
    const e = createError({ code: 'A', message: 'b', category: 'LOGGER', context: { k: 1 } });
    expect(e.context).toEqual({ k: 1 });
    expect(Object.isFrozen(e)).toBe(true);
  });
});

describe('fromException / fromString', () => {
  it('keeps an Error message, name and stack', () => {
    const cause = new SyntaxError('bad token');
    const e = fromException(cause);
    expect(e.code).toBe('EXCEPTION');
    expect(e.message).toBe('bad token');
    expect(e.category).toBe('SYSTEM');
    expect(e.context['name']).toBe('SyntaxError');
    expect(e.context['stack']).toBe(cause.stack);
  });

  it('takes a category', () => {
    expect(fromException(new Error('t'), 'TIMEOUT').category).toBe('TIMEOUT');
  });

  it('stringifies a non-Error', () => {
    expect(fromException('text').message).toBe('text');
    expect(fromException(42).message).toBe('42');
    expect(fromException(null).message).toBe('null');
    expect(fromException(undefined).message).toBe('undefined');
    expect(fromException({ a: 1 }).message).toBe('[object Object]');
    expect(fromException(Object.create(null)).message).toBe('[object Object]');
    expect(fromException('text').context).toEqual({});
  });

  it('fromString makes an ERROR code, SYSTEM by default', () => {
    expect(fromString('oops')).toEqual(create('ERROR', 'oops', 'SYSTEM'));
    expect(fromString('oops', 'NETWORK').category).toBe('NETWORK');
  });
});

describe('isQiError', () => {
  it('recognises the QiError shape only', () => {
    expect(isQiError(validationError('v'))).toBe(true);
    expect(isQiError({ code: 'C', message: 'm', category: 'SYSTEM', context: {} })).toBe(true);
    expect(isQiError({ code: 'C', message: 'm', category: 'NOPE', context: {} })).toBe(false);
    expect(isQiError({ code: 'C', message: 'm', category: 'SYSTEM' })).toBe(false);
    expect(isQiError(new Error('e'))).toBe(false);
    expect(isQiError(null)).toBe(false);
    expect(isQiError('x')).toBe(false);
  });
});

describe('formatting and access', () => {
  const e = networkError('unreachable', { host: 'db', when: new Date(0), big: 10n });

  it('errorToString gives [CODE] message', () => {
    expect(errorToString(e)).toBe('[NETWORK_ERROR] unreachable');
  });

  it('getCategory', () => {
    expect(getCategory(e)).toBe('NETWORK');
  });

  it('toStructuredData gives plain JSON-safe data', () => {
    const data = toStructuredData(e);
    expect(data).toEqual({
      code: 'NETWORK_ERROR',
      message: 'unreachable',
      category: 'NETWORK',
      context: { host: 'db', when: '1970-01-01T00:00:00.000Z', big: '10' },
    });
    expect(JSON.parse(JSON.stringify(data))).toEqual(data);
  });

  it('toStructuredData drops undefined and functions from context', () => {
    const data = toStructuredData(systemError('s', { u: undefined, f: () => 1, n: Number.NaN }));
    expect(data.context).toEqual({ n: null });
  });
});

describe('withContext', () => {
  it('returns a new frozen error with merged context; the original is unchanged', () => {
    const e = validationError('v', { a: 1, b: 2 });
    const e2 = withContext({ b: 3, c: 4 }, e);
    expect(e2).not.toBe(e);
    expect(e2.context).toEqual({ a: 1, b: 3, c: 4 });
    expect(e.context).toEqual({ a: 1, b: 2 });
    expect(e2.code).toBe(e.code);
    expect(e2.message).toBe(e.message);
    expect(e2.category).toBe(e.category);
    expect(Object.isFrozen(e2)).toBe(true);
    expect(Object.isFrozen(e2.context)).toBe(true);
  });
});

describe('convenience factories', () => {
  const table: ReadonlyArray<
    [string, (m: string, c?: Record<string, unknown>) => QiError, string, ErrorCategory]
  > = [
    ['validationError', validationError, 'VALIDATION_ERROR', 'VALIDATION'],
    ['networkError', networkError, 'NETWORK_ERROR', 'NETWORK'],
    ['systemError', systemError, 'SYSTEM_ERROR', 'SYSTEM'],
    ['businessError', businessError, 'BUSINESS_ERROR', 'BUSINESS'],
    ['authenticationError', authenticationError, 'AUTH_ERROR', 'AUTHENTICATION'],
    ['authorizationError', authorizationError, 'AUTHZ_ERROR', 'AUTHORIZATION'],
    ['configurationError', configurationError, 'CONFIG_ERROR', 'CONFIGURATION'],
    ['timeoutError', timeoutError, 'TIMEOUT_ERROR', 'TIMEOUT'],
    ['resourceError', resourceError, 'RESOURCE_ERROR', 'RESOURCE'],
    ['concurrencyError', concurrencyError, 'CONCURRENCY_ERROR', 'CONCURRENCY'],
    ['loggerError', loggerError, 'LOGGER_ERROR', 'LOGGER'],
  ];

  it('covers every category once', () => {
    expect(table.map((row) => row[3]).sort()).toEqual([...ErrorCategories].sort());
  });

  it.each(table)('%s → %s / %s', (_name, factory, code, category) => {
    const e = factory('msg', { id: 7 });
    expect(e).toEqual({ code, message: 'msg', category, context: { id: 7 } });
    expect(Object.isFrozen(e)).toBe(true);
    expect(factory('m').context).toEqual({});
  });
});

describe('getRetryStrategy', () => {
  const expected: Record<ErrorCategory, string> = {
    VALIDATION: 'never',
    BUSINESS: 'never',
    AUTHENTICATION: 'never',
    AUTHORIZATION: 'never',
    CONFIGURATION: 'never',
    LOGGER: 'never',
    NETWORK: 'exponential_backoff',
    TIMEOUT: 'exponential_backoff',
    SYSTEM: 'linear_backoff',
    RESOURCE: 'linear_backoff',
    CONCURRENCY: 'linear_backoff',
  };

  it.each([...ErrorCategories])('%s', (category) => {
    const s = getRetryStrategy(category);
    expect(s.strategy).toBe(expected[category]);
    expect(s.description.length).toBeGreaterThan(0);
    expect(Object.isFrozen(s)).toBe(true);
  });
});
