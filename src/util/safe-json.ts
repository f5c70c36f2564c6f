/**
 * JSON text that can never throw. Values from agents are bounded at the channel (depth and
 * size), but the CLI and the coordinator stringify results, errors, events and messages in many
 * places; one bug that lets a deep, cyclic or exotic value through must cost a marker in the
 * output, never the coordinator.
 * @module
 */

/** Deepest level kept by the fallback copy; deeper values become {@link DEPTH_MARKER}. */
export const SAFE_JSON_MAX_DEPTH = 64;
export const DEPTH_MARKER = `[nested deeper than ${SAFE_JSON_MAX_DEPTH} levels]`;
export const CIRCULAR_MARKER = '[Circular]';

/**
 * `JSON.stringify(value, null, space)`, except that it never throws: when the plain call fails
 * (nesting too deep for the call stack, a cycle, a BigInt, a throwing getter or `toJSON`, text
 * past V8's string limit), the value is copied with levels past {@link SAFE_JSON_MAX_DEPTH}
 * replaced by a marker, cycles by `"[Circular]"` and BigInts by their decimal text, and that
 * copy is serialized; if even that fails, the result is a JSON string naming the reason.
 * `undefined` (and a function or symbol) at the top gives `"null"`.
 */
export function safeStringify(value: unknown, space?: number): string {
  try {
    return JSON.stringify(value, null, space) ?? 'null';
  } catch (first) {
    try {
      return JSON.stringify(boundedCopy(value, 1, new Set()), null, space) ?? 'null';
    } catch (second) {
      const reason = second instanceof Error ? second.message : first instanceof Error ? first.message : 'unknown error';
      return JSON.stringify(`[unserializable: ${reason}]`);
    }
  }
}

/** A JSON-ready copy of `value` at most {@link SAFE_JSON_MAX_DEPTH} levels deep (recursion is bounded by that). */
function boundedCopy(value: unknown, depth: number, path: Set<object>): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (depth > SAFE_JSON_MAX_DEPTH) return DEPTH_MARKER;
  if (path.has(value)) return CIRCULAR_MARKER;
  let source: unknown = value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    try {
      source = toJSON.call(value) as unknown;
    } catch (e) {
      return `[toJSON threw: ${e instanceof Error ? e.message : String(e)}]`;
    }
    if (typeof source !== 'object' || source === null) return boundedCopy(source, depth, path);
  }
  path.add(value);
  let copy: unknown;
  if (Array.isArray(source)) {
    copy = source.map((item: unknown) => boundedCopy(item, depth + 1, path));
  } else {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(source as object)) {
      try {
        out[key] = boundedCopy((source as Record<string, unknown>)[key], depth + 1, path);
      } catch (e) {
        out[key] = `[unreadable: ${e instanceof Error ? e.message : String(e)}]`;
      }
    }
    copy = out;
  }
  path.delete(value);
  return copy;
}
