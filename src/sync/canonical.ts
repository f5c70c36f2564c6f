/**
 * Canonical JSON: the same text for deep-equal values, whatever their key order.
 * @module
 */
import { DEPTH_MARKER, SAFE_JSON_MAX_DEPTH } from '../util/safe-json.js';

/**
 * Serializes `value` with object keys sorted at every level, so deep-equal values give equal
 * strings. `undefined` object members are dropped (as JSON does), `undefined` itself and array
 * holes become `null`/`undefined` markers, and a cycle becomes `"[Circular]"` instead of throwing.
 */
export function canonicalJson(value: unknown): string {
  return write(value, new WeakSet<object>(), 1);
}

/** Levels past this become a marker: the recursion is bounded whatever a value holds (agents' values are bounded at the channel already). */
const MAX_DEPTH = SAFE_JSON_MAX_DEPTH;

function write(value: unknown, seen: WeakSet<object>, depth: number): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value.toString()}n`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? String(value);
  if (depth > MAX_DEPTH) return JSON.stringify(DEPTH_MARKER);
  if (seen.has(value)) return '"[Circular]"';
  seen.add(value);
  let out: string;
  if (Array.isArray(value)) {
    out = `[${value.map((item: unknown) => (item === undefined ? 'null' : write(item, seen, depth + 1))).join(',')}]`;
  } else {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    out = `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, seen, depth + 1)}`).join(',')}}`;
  }
  seen.delete(value);
  return out;
}

/** A short, one-line rendering of a value for error messages. */
export function preview(value: unknown, max = 60): string {
  const text = canonicalJson(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
