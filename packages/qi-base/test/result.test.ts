import { describe, expect, it } from 'vitest';
import {
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
  validationError,
  type QiError,
} from '../src/index.js';

describe('success / failure', () => {
  it('build plain tagged objects', () => {
    expect(success(1)).toEqual({ tag: 'success', value: 1 });
    expect(failure('e')).toEqual({ tag: 'failure', error: 'e' });
    expect(Object.getPrototypeOf(success(1))).toBe(Object.prototype);
    expect(Object.keys(failure('e'))).toEqual(['tag', 'error']);
  });

  it('are frozen', () => {
    expect(Object.isFrozen(success(1))).toBe(true);
    expect(Object.isFrozen(failure('e'))).toBe(true);
  });

  it('keep the value and error by reference', () => {
    const v = { a: 1 };
    const e = validationError('bad');
    const s = success(v);
    const f = failure(e);
    expect(isSuccess(s) && s.value).toBe(v);
    expect(isFailure(f) && f.error).toBe(e);
  });

  it('Ok and Err are aliases', () => {
    expect(Ok).toBe(success);
    expect(Err).toBe(failure);
    expect(Ok(2)).toEqual(success(2));
    expect(Err('x')).toEqual(failure('x'));
  });
});

describe('fromTryCatch', () => {
  it('wraps a return value in success', () => {
    expect(fromTryCatch(() => 42)).toEqual(success(42));
  });

  it('turns a thrown Error into an EXCEPTION QiError by default', () => {
    const r = fromTryCatch(() => {
      throw new TypeError('boom');
    });
    expect(isFailure(r)).toBe(true);
    const e = getError(r);
    expect(e?.code).toBe('EXCEPTION');
    expect(e?.message).toBe('boom');
    expect(e?.category).toBe('SYSTEM');
    expect(e?.context['name']).toBe('TypeError');
    expect(typeof e?.context['stack']).toBe('string');
  });

  it('turns a thrown non-Error into a QiError with String(value)', () => {
    const r = fromTryCatch((): number => {
      throw 17;
    });
    expect(getError(r)?.message).toBe('17');
  });

  it('uses onError when given', () => {
    const thrown = new Error('x');
    const r = fromTryCatch(
      () => {
        throw thrown;
      },
      (e: unknown) => ({ caught: e }),
    );
    expect(r).toEqual(failure({ caught: thrown }));
    expect(getError(r)?.caught).toBe(thrown);
  });

  it('tryCatch is an alias', () => {
    expect(tryCatch).toBe(fromTryCatch);
  });
});

describe('fromAsyncTryCatch', () => {
  it('wraps a resolved value', async () => {
    await expect(fromAsyncTryCatch(async () => 'ok')).resolves.toEqual(success('ok'));
  });

  it('catches a rejection', async () => {
    const r = await fromAsyncTryCatch(() => Promise.reject(new RangeError('nope')));
    expect(getError(r)?.code).toBe('EXCEPTION');
    expect(getError(r)?.message).toBe('nope');
    expect(getError(r)?.context['name']).toBe('RangeError');
  });

  it('catches a synchronous throw from fn', async () => {
    const r = await fromAsyncTryCatch((): Promise<number> => {
      throw new Error('sync');
    });
    expect(getError(r)?.message).toBe('sync');
  });

  it('uses onError when given', async () => {
    const r = await fromAsyncTryCatch(
      () => Promise.reject(new Error('z')),
      (e: unknown) => (e instanceof Error ? `wrapped ${e.message}` : 'other'),
    );
    expect(r).toEqual(failure('wrapped z'));
  });
});

describe('fromMaybe', () => {
  const err: QiError = validationError('missing');

  it('null and undefined become the given failure', () => {
    expect(getError(fromMaybe(null, err))).toBe(err);
    expect(getError(fromMaybe(undefined, err))).toBe(err);
  });

  it('falsy non-nullish values are successes', () => {
    expect(fromMaybe(0, err)).toEqual(success(0));
    expect(fromMaybe('', err)).toEqual(success(''));
    expect(fromMaybe(false, err)).toEqual(success(false));
  });
});

describe('fromEither', () => {
  it('accepts fp-ts shaped eithers', () => {
    expect(fromEither({ _tag: 'Right', right: 1 })).toEqual(success(1));
    expect(fromEither({ _tag: 'Left', left: 'e' })).toEqual(failure('e'));
  });

  it('accepts lower-case tagged eithers', () => {
    expect(fromEither({ tag: 'right', right: 'v' })).toEqual(success('v'));
    expect(fromEither({ tag: 'left', left: 3 })).toEqual(failure(3));
  });

  it('keeps the left value by reference', () => {
    const e = validationError('left');
    expect(getError(fromEither({ _tag: 'Left', left: e }))).toBe(e);
  });
});

describe('queries', () => {
  it('isSuccess / isFailure', () => {
    expect(isSuccess(success(1))).toBe(true);
    expect(isSuccess(failure(1))).toBe(false);
    expect(isFailure(failure(1))).toBe(true);
    expect(isFailure(success(1))).toBe(false);
  });

  it('getValue / getError return null for the other variant', () => {
    expect(getValue(success('a'))).toBe('a');
    expect(getValue(failure('e'))).toBeNull();
    expect(getError(failure('e'))).toBe('e');
    expect(getError(success('a'))).toBeNull();
  });
});
