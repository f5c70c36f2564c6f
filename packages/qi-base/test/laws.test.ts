import { describe, expect, it } from 'vitest';
import {
  andThen,
  collect,
  failure,
  filter,
  flatMap,
  flatMapAsync,
  flatMapPromise,
  inspect,
  map,
  mapAsync,
  mapPromise,
  success,
  validationError,
  type QiError,
  type Result,
} from '../src/index.js';
import { ints, results } from './gen.js';

const sampleError = validationError('sample', { why: 'table' });

/** Table of sample Results: numbers, strings, objects, a failure. */
const samples: ReadonlyArray<[string, Result<unknown, QiError>]> = [
  ['zero', success(0)],
  ['negative number', success(-17.5)],
  ['empty string', success('')],
  ['string', success('hello')],
  ['object', success({ a: 1, nested: { b: [1, 2] } })],
  ['array', success([1, 'two', null])],
  ['null value', success(null)],
  ['failure', failure(sampleError)],
];

const id = <T>(x: T): T => x;
const f = (x: unknown): string => JSON.stringify(x) ?? 'undefined';
const g = (s: string): number => s.length;

// Kleisli arrows for the flatMap laws.
const k1 = (x: unknown): Result<string, QiError> =>
  typeof x === 'number' && x < 0 ? failure(validationError('negative', { x })) : success(f(x));
const k2 = (s: string): Result<number, QiError> =>
  s.length > 20 ? failure(validationError('long', { s })) : success(s.length);

describe.each(samples)('laws on %s', (_name, r) => {
  it('functor identity: map(id, r) equals r', () => {
    expect(map(id, r)).toEqual(r);
  });

  it('functor composition: map(g∘f, r) equals map(g, map(f, r))', () => {
    expect(map((x: unknown) => g(f(x)), r)).toEqual(map(g, map(f, r)));
  });

  it('right identity: flatMap(success, r) equals r', () => {
    expect(flatMap(success, r)).toEqual(r);
  });

  it('associativity: flatMap(k2, flatMap(k1, r)) equals flatMap(x => flatMap(k2, k1(x)), r)', () => {
    expect(flatMap(k2, flatMap(k1, r))).toEqual(
      flatMap((x: unknown) => flatMap(k2, k1(x)), r),
    );
  });
});

describe.each(samples.filter(([, r]) => r.tag === 'success'))('left identity on %s', (_n, r) => {
  it('flatMap(f, success(x)) equals f(x)', () => {
    const x = r.tag === 'success' ? r.value : undefined;
    expect(flatMap(k1, success(x))).toEqual(k1(x));
  });
});

describe('failures pass through every transform untouched', () => {
  const fail: Result<number, QiError> = failure(sampleError);
  const transforms: ReadonlyArray<[string, (r: Result<number, QiError>) => Result<unknown, QiError>]> = [
    ['map', (r) => map((n: number) => n + 1, r)],
    ['flatMap', (r) => flatMap((n: number) => success(n + 1), r)],
    ['andThen', (r) => andThen((n: number) => success(n + 1), r)],
    ['inspect', (r) => inspect(() => undefined, r)],
    ['collect', (r) => collect(map((n: number) => success(n), r))],
    ['filter', (r) => filter(() => false, validationError('other'), r)],
  ];

  it.each(transforms)('%s keeps the same error object', (_name, t) => {
    const out = t(fail);
    expect(out.tag).toBe('failure');
    expect(out.tag === 'failure' && out.error).toBe(sampleError);
    expect(out).toBe(fail);
  });

  it('async transforms keep the same error object', async () => {
    const outs = await Promise.all([
      mapAsync(async (n: number) => n, fail),
      flatMapAsync(async (n: number) => success(n), fail),
      mapPromise((n: number) => n, Promise.resolve(fail)),
      flatMapPromise((n: number) => success(n), Promise.resolve(fail)),
    ]);
    for (const out of outs) {
      expect(out).toBe(fail);
      expect(out.tag === 'failure' && out.error).toBe(sampleError);
    }
  });
});

describe('property loop: 100 seeded Results', () => {
  const rs = results(20240601, 100);
  const inc = (n: number): number => n + 1;
  const dbl = (n: number): number => n * 2;
  const safeHalf = (n: number): Result<number, QiError> =>
    n % 2 === 0 ? success(n / 2) : failure(validationError('odd', { n }));
  const nonNeg = (n: number): Result<number, QiError> =>
    n >= 0 ? success(n) : failure(validationError('negative', { n }));

  it('generates a mix of successes and failures deterministically', () => {
    expect(rs).toHaveLength(100);
    expect(rs.filter((r) => r.tag === 'failure')).toHaveLength(20);
    expect(results(20240601, 100)).toEqual(rs);
    expect(ints(1, 5)).toEqual(ints(1, 5));
    expect(ints(1, 5)).not.toEqual(ints(2, 5));
  });

  it('all laws hold for every generated value', () => {
    for (const r of rs) {
      expect(map((n: number) => n, r)).toEqual(r);
      expect(map((n: number) => dbl(inc(n)), r)).toEqual(map(dbl, map(inc, r)));
      expect(flatMap(success, r)).toEqual(r);
      expect(flatMap(nonNeg, flatMap(safeHalf, r))).toEqual(
        flatMap((n: number) => flatMap(nonNeg, safeHalf(n)), r),
      );
      if (r.tag === 'success') {
        expect(flatMap(safeHalf, success(r.value))).toEqual(safeHalf(r.value));
      } else {
        expect(map(inc, r)).toBe(r);
        expect(flatMap(safeHalf, r)).toBe(r);
      }
    }
  });
});
