import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  collect,
  failure,
  flatMap,
  fromMaybe,
  fromTryCatch,
  getError,
  getValue,
  isFailure,
  isSuccess,
  map,
  mapAsync,
  sequenceAsync,
  success,
  validationError,
  type Failure,
  type QiError,
  type Result,
  type Success,
} from '../src/index.js';

describe('types', () => {
  it('Result defaults its error type to QiError', () => {
    expectTypeOf<Result<number>>().toEqualTypeOf<Result<number, QiError>>();
    expectTypeOf<Result<number>>().toEqualTypeOf<Success<number> | Failure<QiError>>();
  });

  it('isSuccess / isFailure narrow', () => {
    const r: Result<number, QiError> = success(1);
    if (isSuccess(r)) {
      expectTypeOf(r).toEqualTypeOf<Success<number>>();
      expectTypeOf(r.value).toEqualTypeOf<number>();
    } else {
      expectTypeOf(r).toEqualTypeOf<Failure<QiError>>();
    }
    const f: Result<number, QiError> = failure(validationError('x'));
    if (isFailure(f)) {
      expectTypeOf(f.error).toEqualTypeOf<QiError>();
    }
    expect(isSuccess(r)).toBe(true);
  });

  it('map changes the value type and keeps the error type', () => {
    const r: Result<number, QiError> = success(1);
    const out = map((n: number) => `${n}`, r);
    expectTypeOf(out).toEqualTypeOf<Result<string, QiError>>();
    expect(out).toEqual(success('1'));
  });

  it('flatMap, collect and friends infer sensibly', () => {
    const r: Result<number, QiError> = success(4);
    expectTypeOf(flatMap((n: number) => success(n > 1), r)).toEqualTypeOf<Result<boolean, QiError>>();
    expectTypeOf(collect(success(r))).toEqualTypeOf<Result<number, QiError>>();
    expectTypeOf(getValue(r)).toEqualTypeOf<number | null>();
    expectTypeOf(getError(r)).toEqualTypeOf<QiError | null>();
    expectTypeOf(fromTryCatch(() => 'x')).toEqualTypeOf<Result<string, QiError>>();
    expectTypeOf(fromMaybe<string | null, QiError>(null, validationError('n'))).toEqualTypeOf<
      Result<string, QiError>
    >();
    expectTypeOf(mapAsync(async (n: number) => [n], r)).toEqualTypeOf<
      Promise<Result<number[], QiError>>
    >();
    expectTypeOf(sequenceAsync([Promise.resolve(r)])).toEqualTypeOf<Promise<Result<number[], QiError>>>();
    expect(getValue(r)).toBe(4);
  });

  it('a function declared to return Result accepts success / failure directly', () => {
    const parse = (s: string): Result<number, QiError> => {
      const n = Number(s);
      return Number.isNaN(n) ? failure(validationError('NaN', { s })) : success(n);
    };
    expect(parse('3')).toEqual(success(3));
    expect(parse('x').tag).toBe('failure');
  });
});
