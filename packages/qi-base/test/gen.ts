/** Deterministic value generators for the property loops (no Math.random). */

import { failure, success, validationError, type QiError, type Result } from '../src/index.js';

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` integers in [-1000, 1000) from a fixed seed. */
export function ints(seed: number, count: number): number[] {
  const next = seeded(seed);
  return Array.from({ length: count }, () => Math.floor(next() * 2000) - 1000);
}

/** `count` Results: mostly successes of integers, every fifth a failure. */
export function results(seed: number, count: number): Result<number, QiError>[] {
  return ints(seed, count).map((n, i) =>
    i % 5 === 4 ? failure(validationError(`bad ${n}`, { n })) : success(n),
  );
}
