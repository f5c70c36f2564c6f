import { BRAND, PROTOCOL_VERSION } from './constants.js';
import type { ChildMessage } from './messages.js';

/**
 * True when `raw` is certainly a valid `result` message: exactly the brand, `type`, a
 * `subtaskId` of 1–200 characters and a plain `outputs` object — what the schema's strict
 * `result` shape accepts, checked directly. It is the message of every subtask, and the schema's
 * generic walk costs several µs each; anything this does not accept still goes to the schema
 * (which names the problem), so it can only ever accept less, never more. Values inside
 * `outputs` are any JSON (the schema takes them unchecked too); their depth was checked before.
 */
export function isPlainResult(raw: unknown): raw is Extract<ChildMessage, { type: 'result' }> {
  if (typeof raw !== 'object' || raw === null) return false;
  const m = raw as Record<string, unknown>;
  if (m['type'] !== 'result' || m[BRAND] !== PROTOCOL_VERSION) return false;
  let keys = 0;
  for (const key in m) {
    if (!Object.hasOwn(m, key)) return false;
    if (key !== BRAND && key !== 'type' && key !== 'subtaskId' && key !== 'outputs') return false;
    keys++;
  }
  const { subtaskId, outputs } = m;
  return (
    keys === 4 &&
    typeof subtaskId === 'string' &&
    subtaskId.length >= 1 &&
    subtaskId.length <= 200 &&
    typeof outputs === 'object' &&
    outputs !== null &&
    Object.getPrototypeOf(outputs) === Object.prototype
  );
}
