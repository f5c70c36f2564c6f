/**
 * The errors a point settles with when it cannot release: fail-fast departure, timeout, close.
 * @module
 */
import type { QiError } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/**
 * Fail-fast departure: `CANCELLED`, the catalogue's code for "fail-fast after another failure" —
 * the point is abandoned because a participant ended, not because it ran out of time.
 */
export function departedError(pointId: string, id: string, kind: 'subtask' | 'agent'): QiError {
  const how = kind === 'agent' ? `agent '${id}' died` : `participant '${id}' ended`;
  const message =
    `synchronization point '${pointId}' cannot be reached: ${how} without arriving (fail-fast); ` +
    `make it call ctx.sync('${pointId}') before it ends, drop it from participatingAgents, ` +
    `or use failureHandling 'graceful-degradation' to release without it`;
  return qiError('CANCELLED', message, { pointId, departed: id, kind });
}

/** `onTimeout: 'fail'`: `SYNC_TIMEOUT` naming the point, the count arrived and the fix. */
export function timeoutError(
  pointId: string,
  timeoutMs: number,
  counts: { arrived: number; expected: number },
  arrived: readonly string[],
  missing: readonly string[],
): QiError {
  const message =
    `synchronization point '${pointId}' timed out after ${timeoutMs} ms: ${counts.arrived} of ` +
    `${counts.expected} participant(s) arrived (still waiting for: ${missing.join(', ')}); ` +
    `raise timeoutMs, or set onTimeout: 'proceed' to release with whoever arrived`;
  return qiError('SYNC_TIMEOUT', message, { pointId, timeoutMs, arrived: [...arrived], missing: [...missing] });
}

/** `close()` before the point settled: `CANCELLED`. */
export function closedError(pointId: string, counts: { arrived: number; expected: number }): QiError {
  const message =
    `synchronization point '${pointId}' was cancelled: the hub closed with ${counts.arrived} of ` +
    `${counts.expected} participant(s) arrived; nothing to fix if the run was cancelled`;
  return qiError('CANCELLED', message, { pointId });
}
