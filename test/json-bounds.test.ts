/**
 * The depth check at the channel boundary and the stringify that never throws (issue 9, item 6):
 * pure functions, fed values far deeper than any call stack.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_DEPTH, exceedsDepth } from '../src/protocol/depth.js';
import { parseLine } from '../src/protocol/framing.js';
import { canonicalJson } from '../src/sync/canonical.js';
import { CIRCULAR_MARKER, DEPTH_MARKER, SAFE_JSON_MAX_DEPTH, safeStringify } from '../src/util/safe-json.js';

/** `depth` nested arrays, parsed from text (building it recursively would be the bug under test). */
function nestedArrays(depth: number): unknown {
  return JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);
}

function nestedObjects(depth: number): unknown {
  return JSON.parse(`${'{"a":'.repeat(depth)}null${'}'.repeat(depth)}`);
}

describe('exceedsDepth', () => {
  it('counts levels of objects and arrays; primitives have none', () => {
    for (const v of [null, 1, 'x', true, undefined]) expect(exceedsDepth(v, 0)).toBe(false);
    expect(exceedsDepth({}, 0)).toBe(true);
    expect(exceedsDepth({}, 1)).toBe(false);
    expect(exceedsDepth([[1], { a: [2] }], 3)).toBe(false);
    expect(exceedsDepth([[1], { a: [2] }], 2)).toBe(true);
    expect(exceedsDepth(nestedArrays(64), 64)).toBe(false);
    expect(exceedsDepth(nestedArrays(65), 64)).toBe(true);
    expect(exceedsDepth(nestedObjects(10), 10)).toBe(false);
    expect(exceedsDepth(nestedObjects(11), 10)).toBe(true);
  });

  it('finds a deep path among wide shallow ones', () => {
    const wide = Array.from({ length: 10_000 }, (_, i) => ({ i, tags: ['a', 'b'] }));
    expect(exceedsDepth({ wide }, MAX_MESSAGE_DEPTH)).toBe(false);
    expect(exceedsDepth({ wide, deep: nestedObjects(MAX_MESSAGE_DEPTH) }, MAX_MESSAGE_DEPTH)).toBe(true);
  });

  it('measures 100,000 levels without overflowing the stack (the parsed 200 KB attack line)', () => {
    const line = `{"__qicoord":1,"type":"result","subtaskId":"s","outputs":{"data":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    const parsed = parseLine(line);
    expect(() => JSON.stringify(parsed)).toThrow(RangeError);
    expect(exceedsDepth(parsed, MAX_MESSAGE_DEPTH)).toBe(true);
  });
});

describe('safeStringify', () => {
  it('is JSON.stringify for ordinary values, indentation included', () => {
    const v = { a: [1, 'x', null, { b: true }], c: undefined };
    expect(safeStringify(v)).toBe(JSON.stringify(v));
    expect(safeStringify(v, 2)).toBe(JSON.stringify(v, null, 2));
    expect(safeStringify(undefined)).toBe('null');
  });

  it('never throws: too deep, cyclic, BigInt, throwing getter and toJSON all become markers in valid JSON', () => {
    const deep = nestedArrays(100_000);
    const text = safeStringify({ deep, ok: 1 });
    const back = JSON.parse(text) as { deep: unknown; ok: number };
    expect(back.ok).toBe(1);
    expect(text).toContain(DEPTH_MARKER);
    expect(exceedsDepth(back, SAFE_JSON_MAX_DEPTH + 1)).toBe(false);

    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic['self'] = cyclic;
    expect(JSON.parse(safeStringify(cyclic))).toEqual({ name: 'loop', self: CIRCULAR_MARKER });

    expect(JSON.parse(safeStringify({ n: 10n }))).toEqual({ n: '10' });

    const getter = Object.defineProperty({ fine: 1 }, 'bad', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(JSON.parse(safeStringify(getter))).toEqual({ fine: 1, bad: '[unreadable: no]' });

    const toJSON = {
      toJSON() {
        throw new Error('nope');
      },
    };
    expect(JSON.parse(safeStringify([toJSON]))).toEqual(['[toJSON threw: nope]']);
  });

  it('keeps a shared (not cyclic) object twice', () => {
    const shared = { x: 1 };
    expect(JSON.parse(safeStringify({ a: shared, b: shared, n: 1n }))).toEqual({ a: { x: 1 }, b: { x: 1 }, n: '1' });
  });
});

describe('canonicalJson', () => {
  it('bounds its recursion: a value deeper than the limit gives a marker, not a RangeError', () => {
    expect(canonicalJson(nestedArrays(100_000))).toContain(DEPTH_MARKER);
    expect(canonicalJson({ b: [1], a: 2 })).toBe('{"a":2,"b":[1]}');
  });
});
