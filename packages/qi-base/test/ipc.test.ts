import { describe, expect, it } from 'vitest';
import {
  failure,
  getError,
  isFailure,
  success,
  toJsonValue,
  toStructuredData,
  unwrap,
  validationError,
  type QiError,
  type Result,
} from '../src/index.js';

const roundTrip = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

describe('IPC round trip (JSON, as process.send uses)', () => {
  it('a QiError survives unchanged', () => {
    const e = validationError('bad input', { field: 'name', limits: [1, 2], nested: { ok: true } });
    expect(roundTrip(e)).toEqual(e);
  });

  it('success and failure Results survive unchanged', () => {
    const rs: Result<unknown, QiError>[] = [
      success(1),
      success('s'),
      success({ a: [1, { b: null }] }),
      success(null),
      failure(validationError('v', { k: 'x' })),
    ];
    for (const r of rs) {
      expect(roundTrip(r)).toEqual(r);
    }
  });

  it('a round-tripped failure still works with the API', () => {
    const e = validationError('v');
    const back = roundTrip(failure(e));
    const r: Result<number, QiError> = back as Result<number, QiError>;
    expect(isFailure(r)).toBe(true);
    expect(getError(r)).toEqual(e);
    expect(() => unwrap(r)).toThrow('[VALIDATION_ERROR] v');
  });

  it('toStructuredData of a messy context survives unchanged', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    const e = validationError('messy', {
      cyclic,
      err: new Error('inner'),
      inf: Number.POSITIVE_INFINITY,
      list: [undefined, () => 1, Symbol('s'), 2n],
    });
    const data = toStructuredData(e);
    expect(roundTrip(data)).toEqual(data);
    expect(data.context['cyclic']).toEqual({ name: 'loop', self: '[Circular]' });
    expect(data.context['inf']).toBeNull();
    expect(data.context['list']).toEqual([null, null, null, '2']);
  });
});

describe('toJsonValue', () => {
  it('passes JSON primitives through', () => {
    expect(toJsonValue('s')).toBe('s');
    expect(toJsonValue(1.5)).toBe(1.5);
    expect(toJsonValue(true)).toBe(true);
    expect(toJsonValue(null)).toBeNull();
  });

  it('converts non-JSON values', () => {
    expect(toJsonValue(undefined)).toBeNull();
    expect(toJsonValue(Number.NaN)).toBeNull();
    expect(toJsonValue(5n)).toBe('5');
    expect(toJsonValue(new Date('invalid'))).toBeNull();
    expect(toJsonValue(new Date(1000))).toBe('1970-01-01T00:00:01.000Z');
    const err = new TypeError('t');
    expect(toJsonValue(err)).toEqual({ name: 'TypeError', message: 't', stack: err.stack });
  });

  it('uses toJSON and keeps shared (non-cyclic) references', () => {
    const shared = { v: 1 };
    expect(toJsonValue({ a: shared, b: shared })).toEqual({ a: { v: 1 }, b: { v: 1 } });
    expect(toJsonValue({ toJSON: () => ({ x: 1 }) })).toEqual({ x: 1 });
  });

  it('marks cycles', () => {
    const arr: unknown[] = [1];
    arr.push(arr);
    expect(toJsonValue(arr)).toEqual([1, '[Circular]']);
  });
});
