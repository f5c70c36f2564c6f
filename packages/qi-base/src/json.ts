/**
 * Conversion of arbitrary values into JSON-safe data.
 * @module
 */

/** A value that `JSON.stringify` / `JSON.parse` round-trips unchanged. */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * Converts any value into a {@link JsonValue}, so that
 * `JSON.parse(JSON.stringify(toJsonValue(x)))` deep-equals `toJsonValue(x)`.
 *
 * Rules: non-finite numbers become `null`; bigints become decimal strings;
 * `undefined`, functions and symbols become `null` in arrays and are dropped
 * from objects; `Date`s become ISO strings (`null` if invalid); `Error`s become
 * `{ name, message, stack? }`; a value seen again on the current path becomes
 * the string `"[Circular]"`; objects with a `toJSON` method are converted via
 * its result; other objects keep their own enumerable string-keyed properties.
 */
export function toJsonValue(value: unknown): JsonValue {
  return convert(value, []);
}

function convert(value: unknown, path: readonly object[]): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return null;
    default:
      break;
  }
  if (value === null || typeof value !== 'object') {
    return null;
  }
  if (path.includes(value)) {
    return '[Circular]';
  }
  const nextPath = [...path, value];
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? null : value.toISOString();
  }
  if (value instanceof Error) {
    const out: Record<string, JsonValue> = { name: value.name, message: value.message };
    if (typeof value.stack === 'string') {
      out['stack'] = value.stack;
    }
    return out;
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown) => convert(item, nextPath));
  }
  if ('toJSON' in value && typeof value.toJSON === 'function') {
    const replaced: unknown = value.toJSON();
    return replaced === value ? convertObject(value, nextPath) : convert(replaced, nextPath);
  }
  return convertObject(value, nextPath);
}

function convertObject(value: object, path: readonly object[]): JsonValue {
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') {
      continue;
    }
    out[key] = convert(item, path);
  }
  return out;
}
