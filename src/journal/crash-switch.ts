import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

/**
 * A testing switch for crash safety (plugin authors checking that their plugins are idempotent,
 * and the crash-test sweep): `QICOORD_CRASH_AT_RECORD=N` makes the coordinator SIGKILL itself
 * right after the N-th journal record this process writes is in the file, `N:torn` in the middle
 * of writing it (half of its line's bytes written). A SIGKILL flushes nothing, so what is left on
 * disk is exactly what a coordinator killed at that point leaves. Record 1 of a new run is its
 * head. Subtask successes written together share one line (event-group.ts); record N
 * inside such a group ends the group at N, so the sweep reaches every record whatever the batching.
 */
export interface CrashSwitch {
  /** 1-based count of records written by this process. */
  readonly atRecord: number;
  /** Die with only the first half of record `atRecord`'s bytes written. */
  readonly torn: boolean;
}

/** The environment variable that arms the switch. */
export const CRASH_SWITCH_ENV = 'QICOORD_CRASH_AT_RECORD';

/** Reads the switch from an environment (unset or empty: no switch; anything else malformed: INVALID_CONFIG). */
export function crashSwitchFrom(env: Readonly<Record<string, string | undefined>>): Result<CrashSwitch | undefined, QiError> {
  const raw = env[CRASH_SWITCH_ENV];
  if (raw === undefined || raw === '') return success(undefined);
  const match = /^([1-9][0-9]{0,8})(:torn)?$/.exec(raw.trim());
  if (match === null) {
    return failure(qiError('INVALID_CONFIG', `${CRASH_SWITCH_ENV}='${raw}' is not N or N:torn (N a record number from 1); unset it to run normally`, { [CRASH_SWITCH_ENV]: raw }));
  }
  return success({ atRecord: Number(match[1]), torn: match[2] !== undefined });
}
