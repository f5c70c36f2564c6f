import { describe, expect, it } from 'vitest';
import {
  andThen,
  collect,
  failure,
  filter,
  flatMap,
  getError,
  inspect,
  inspectErr,
  map,
  mapError,
  match,
  networkError,
  orElse,
  success,
  unwrap,
  unwrapOr,
  validationError,
  type QiError,
  type Result,
} from '../src/index.js';

const err = networkError('down', { host: 'h' });
const fail: Result<number, QiError> = failure(err);

describe('map', () => {
  it('applies fn to a success', () => {
    expect(map((n: number) => n * 2, success(21))).toEqual(success(42));
  });
  it('returns the same failure object', () => {
    expect(map((n: number) => n * 2, fail)).toBe(fail);
  });
});

describe('mapError', () => {
  it('applies fn to a failure', () => {
    expect(mapError((e: QiError) => e.code, fail)).toEqual(failure('NETWORK_ERROR'));
  });
  it('returns the same success object', () => {
    const s = success(1);
    expect(mapError((e: string) => e.length, s)).toBe(s);
  });
});

describe('flatMap / andThen', () => {
  const half = (n: number): Result<number, QiError> =>
    n % 2 === 0 ? success(n / 2) : failure(validationError('odd', { n }));

  it('chains on success', () => {
    expect(flatMap(half, success(8))).toEqual(success(4));
    expect(getError(flatMap(half, success(3)))?.code).toBe('VALIDATION_ERROR');
  });
  it('returns the same failure object', () => {
    expect(flatMap(half, fail)).toBe(fail);
  });
  it('andThen is flatMap', () => {
    expect(andThen).toBe(flatMap);
  });
});

describe('inspect / inspectErr', () => {
  it('inspect sees success values only and returns r', () => {
    const seen: number[] = [];
    const s = success(5);
    expect(inspect((n: number) => seen.push(n), s)).toBe(s);
    expect(inspect((n: number) => seen.push(n), fail)).toBe(fail);
    expect(seen).toEqual([5]);
  });
  it('inspectErr sees failure errors only and returns r', () => {
    const seen: QiError[] = [];
    const s: Result<number, QiError> = success(5);
    expect(inspectErr((e: QiError) => seen.push(e), s)).toBe(s);
    expect(inspectErr((e: QiError) => seen.push(e), fail)).toBe(fail);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBe(err);
  });
});

describe('collect', () => {
  it('flattens nested successes', () => {
    expect(collect(success(success(1)))).toEqual(success(1));
  });
  it('returns the inner failure object', () => {
    expect(collect(success(fail))).toBe(fail);
  });
  it('returns the outer failure object', () => {
    const outer: Result<Result<number, QiError>, QiError> = failure(err);
    expect(collect(outer)).toBe(outer);
  });
});

describe('filter', () => {
  const notSmall = validationError('too small');
  it('keeps a success that passes', () => {
    const s: Result<number, QiError> = success(10);
    expect(filter((n: number) => n > 5, notSmall, s)).toBe(s);
  });
  it('fails a success that does not pass', () => {
    const r = filter((n: number) => n > 5, notSmall, success(1));
    expect(getError(r)).toBe(notSmall);
  });
  it('returns the same failure object without calling pred', () => {
    let called = false;
    const pred = (): boolean => {
      called = true;
      return true;
    };
    expect(filter(pred, notSmall, fail)).toBe(fail);
    expect(called).toBe(false);
  });
  it('narrows with a type-guard predicate', () => {
    const r: Result<string | number, QiError> = success('x');
    const narrowed = filter((v: string | number): v is string => typeof v === 'string', notSmall, r);
    expect(narrowed).toEqual(success('x'));
  });
});

describe('orElse', () => {
  it('recovers a failure', () => {
    expect(orElse((e: QiError) => success(e.code.length), fail)).toEqual(success(13));
  });
  it('returns the same success object', () => {
    const s: Result<number, QiError> = success(1);
    expect(orElse(() => success(2), s)).toBe(s);
  });
  it('may fail again with a new error', () => {
    expect(orElse((e: QiError) => failure(e.message), fail)).toEqual(failure('down'));
  });
});

describe('unwrap / unwrapOr / match', () => {
  it('unwrap returns a success value', () => {
    expect(unwrap(success('v'))).toBe('v');
  });
  it('unwrap throws an Error with [CODE] message carrying .qiError', () => {
    expect(() => unwrap(fail)).toThrow('[NETWORK_ERROR] down');
    let caught: unknown;
    try {
      unwrap(fail);
    } catch (e: unknown) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(Error);
    expect(caught instanceof Error && caught.message).toBe('[NETWORK_ERROR] down');
    expect(caught instanceof Error && 'qiError' in caught && caught.qiError).toBe(err);
  });
  it('unwrap converts a non-QiError error with fromException', () => {
    expect(() => unwrap(failure('plain'))).toThrow('[EXCEPTION] plain');
    expect(() => unwrap(failure(new Error('inner')))).toThrow('[EXCEPTION] inner');
  });
  it('unwrapOr', () => {
    expect(unwrapOr(0, success(3))).toBe(3);
    expect(unwrapOr(0, fail)).toBe(0);
  });
  it('match', () => {
    const show = (r: Result<number, QiError>): string =>
      match(
        (n: number) => `ok ${n}`,
        (e: QiError) => `err ${e.code}`,
        r,
      );
    expect(show(success(1))).toBe('ok 1');
    expect(show(fail)).toBe('err NETWORK_ERROR');
  });
});
