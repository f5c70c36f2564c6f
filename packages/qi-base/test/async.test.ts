import { describe, expect, it } from 'vitest';
import {
  collectAsync,
  failure,
  flatMapAsync,
  flatMapPromise,
  isPromiseResult,
  mapAsync,
  mapPromise,
  matchAsync,
  matchPromise,
  sequenceAsync,
  success,
  timeoutError,
  validationError,
  type QiError,
  type Result,
} from '../src/index.js';

const err = timeoutError('slow');
const fail: Result<number, QiError> = failure(err);

/** A promise settled by hand, to control settle order without timers. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => undefined;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

describe('Result in, async fn', () => {
  it('flatMapAsync chains on success', async () => {
    await expect(flatMapAsync(async (n: number) => success(n + 1), success(1))).resolves.toEqual(
      success(2),
    );
  });
  it('flatMapAsync passes a failure through as the same object', async () => {
    let called = false;
    const r = await flatMapAsync(async (n: number) => {
      called = true;
      return success(n);
    }, fail);
    expect(r).toBe(fail);
    expect(called).toBe(false);
  });
  it('mapAsync maps on success and passes failure through', async () => {
    await expect(mapAsync(async (n: number) => `#${n}`, success(7))).resolves.toEqual(success('#7'));
    await expect(mapAsync(async (n: number) => n, fail)).resolves.toBe(fail);
  });
  it('mapAsync propagates a rejecting fn', async () => {
    await expect(mapAsync(() => Promise.reject(new Error('bad')), success(1))).rejects.toThrow('bad');
  });
  it('matchAsync folds both variants', async () => {
    const onS = async (n: number): Promise<string> => `ok ${n}`;
    const onE = async (e: QiError): Promise<string> => `err ${e.code}`;
    await expect(matchAsync(onS, onE, success(1))).resolves.toBe('ok 1');
    await expect(matchAsync(onS, onE, fail)).resolves.toBe('err TIMEOUT_ERROR');
  });
});

describe('Promise<Result> in', () => {
  it('flatMapPromise', async () => {
    await expect(
      flatMapPromise((n: number) => success(n * 3), Promise.resolve(success(2))),
    ).resolves.toEqual(success(6));
    await expect(flatMapPromise(async (n: number) => success(n), Promise.resolve(fail))).resolves.toBe(
      fail,
    );
  });
  it('mapPromise', async () => {
    await expect(mapPromise((n: number) => n + 1, Promise.resolve(success(1)))).resolves.toEqual(
      success(2),
    );
    await expect(mapPromise((n: number) => n + 1, Promise.resolve(fail))).resolves.toBe(fail);
  });
  it('matchPromise', async () => {
    const onS = (n: number): number => n;
    const onE = (): number => -1;
    await expect(matchPromise(onS, onE, Promise.resolve(success(9)))).resolves.toBe(9);
    await expect(matchPromise(onS, onE, Promise.resolve(fail))).resolves.toBe(-1);
  });
});

describe('sequenceAsync', () => {
  it('collects values in input order, not settle order', async () => {
    const a = deferred<Result<string, QiError>>();
    const b = deferred<Result<string, QiError>>();
    const c = deferred<Result<string, QiError>>();
    const all = sequenceAsync([a.promise, b.promise, c.promise]);
    c.resolve(success('c'));
    b.resolve(success('b'));
    a.resolve(success('a'));
    await expect(all).resolves.toEqual(success(['a', 'b', 'c']));
  });

  it('returns the failure first in ARRAY order even if a later one settles first', async () => {
    const first = validationError('first');
    const second = validationError('second');
    const a = deferred<Result<number, QiError>>();
    const b = deferred<Result<number, QiError>>();
    const c = deferred<Result<number, QiError>>();
    const all = sequenceAsync([a.promise, b.promise, c.promise]);
    const firstFailure: Result<number, QiError> = failure(first);
    c.resolve(failure(second));
    a.resolve(success(1));
    b.resolve(firstFailure);
    const r = await all;
    expect(r).toBe(firstFailure);
    expect(r.tag === 'failure' && r.error).toBe(first);
  });

  it('accepts plain Results mixed with promises, and an empty list', async () => {
    await expect(sequenceAsync([success(1), Promise.resolve(success(2))])).resolves.toEqual(
      success([1, 2]),
    );
    await expect(sequenceAsync([])).resolves.toEqual(success([]));
  });

  it('rejects when an input rejects', async () => {
    await expect(sequenceAsync([Promise.reject(new Error('rej'))])).rejects.toThrow('rej');
  });
});

describe('collectAsync', () => {
  it('partitions successes and failures, keeping input order', async () => {
    const e1 = validationError('1');
    const e2 = validationError('2');
    const out = await collectAsync<number, QiError>([
      Promise.resolve(success(1)),
      Promise.resolve(failure(e1)),
      success(2),
      Promise.resolve(failure(e2)),
      Promise.resolve(success(3)),
    ]);
    expect(out.successes).toEqual([1, 2, 3]);
    expect(out.failures).toHaveLength(2);
    expect(out.failures[0]).toBe(e1);
    expect(out.failures[1]).toBe(e2);
  });
  it('handles an empty list', async () => {
    await expect(collectAsync([])).resolves.toEqual({ successes: [], failures: [] });
  });
});

describe('isPromiseResult', () => {
  it('tells promises (thenables) from plain Results', () => {
    expect(isPromiseResult(Promise.resolve(success(1)))).toBe(true);
    expect(isPromiseResult(success(1))).toBe(false);
    expect(isPromiseResult(fail)).toBe(false);
    const thenable: PromiseLike<Result<number, QiError>> = {
      then: (onfulfilled) => Promise.resolve(success(1)).then(onfulfilled),
    };
    expect(isPromiseResult(thenable)).toBe(true);
  });
});
