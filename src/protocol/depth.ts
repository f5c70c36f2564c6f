/**
 * How deep a value from the channel may nest. `JSON.parse` accepts any depth, but every
 * recursive consumer after it does not: `JSON.stringify` throws `RangeError` at a few thousand
 * levels, and so do pino, `Array.prototype.join` and the sync hub's canonical JSON. So the
 * coordinator measures each parsed child message here, without recursion, before anything else
 * reads it, and refuses one nested deeper than {@link MAX_MESSAGE_DEPTH}.
 *
 * Shared by both ends; imports nothing.
 */

/**
 * Most levels of objects and arrays one channel message may nest, its envelope included (a
 * result's output values therefore nest at most 62 levels, a sync value 63). JSON data from
 * real plugins nests a handful of levels; 64 is far below where any recursive serializer fails.
 */
export const MAX_MESSAGE_DEPTH = 64;

/**
 * True when `value` nests more than `maxDepth` levels of objects and arrays (`{}` and `[]` are
 * one level, a primitive none). Iterative, with an explicit stack: it never overflows the call
 * stack, whatever the depth, and stops at the first path past the limit.
 */
export function exceedsDepth(value: unknown, maxDepth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    const children: readonly unknown[] = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) {
      if (typeof child === 'object' && child !== null) {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
