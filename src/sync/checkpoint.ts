/**
 * Checkpoint files: `<dir>/checkpoints/<subtaskId>.json`, written atomically (tmp + rename).
 * @module
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
let tmpCounter = 0;

/** True when `id` is safe as a file name: letters, digits and `._:-`, starting with a letter or digit. */
export function isSafeFileId(id: string): boolean {
  return SAFE_ID.test(id);
}

/** Where a subtask's checkpoint lives. Only call with a {@link isSafeFileId} id. */
export function checkpointFile(dir: string, subtaskId: string): string {
  return path.join(dir, 'checkpoints', `${subtaskId}.json`);
}

/** The JSON document of a checkpoint file; `value` is absent when the arrival sent none. */
export interface CheckpointRecord {
  readonly pointId: string;
  readonly subtaskId: string;
  readonly savedAt: number;
  readonly value?: unknown;
}

/**
 * Writes `value` as the subtask's checkpoint: to a unique tmp file, then renamed over the
 * target, so a reader never sees half a file. Fails with `INVALID_SPEC` for an unsafe subtask
 * id, `AGENT_ERROR` for a value JSON cannot hold, `INTERNAL` when the disk write fails.
 */
export async function saveCheckpoint(
  dir: string,
  pointId: string,
  subtaskId: string,
  value: unknown,
  savedAt: number,
): Promise<Result<string, QiError>> {
  if (!isSafeFileId(subtaskId)) {
    return failure(
      qiError('INVALID_SPEC', `checkpoint '${pointId}': subtask id '${subtaskId}' is not a safe file name; use letters, digits and '._:-' only`, {
        pointId,
        subtaskId,
      }),
    );
  }
  let text: string;
  try {
    const record: CheckpointRecord = value === undefined ? { pointId, subtaskId, savedAt } : { pointId, subtaskId, savedAt, value };
    text = `${JSON.stringify(record, null, 2)}\n`;
  } catch (e: unknown) {
    const why = e instanceof Error ? e.message : String(e);
    return failure(
      qiError('AGENT_ERROR', `checkpoint '${pointId}': the value from subtask '${subtaskId}' cannot be saved as JSON (${why}); pass plain JSON data to ctx.sync`, {
        pointId,
        subtaskId,
      }),
    );
  }
  const file = checkpointFile(dir, subtaskId);
  const tmp = `${file}.${process.pid}.${++tmpCounter}.tmp`;
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(tmp, text, 'utf8');
    await rename(tmp, file);
    return success(file);
  } catch (e: unknown) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const why = e instanceof Error ? e.message : String(e);
    return failure(
      qiError('INTERNAL', `checkpoint '${pointId}': could not write ${file} (${why}); check that the run directory is writable`, {
        pointId,
        subtaskId,
        path: file,
      }),
    );
  }
}

/**
 * The value of the subtask's last checkpoint, or undefined when it has none (no file, an
 * unsafe id that could never have been saved, or a file that is not a checkpoint record).
 */
export async function loadCheckpoint(dir: string, subtaskId: string): Promise<unknown> {
  if (!isSafeFileId(subtaskId)) return undefined;
  let text: string;
  try {
    text = await readFile(checkpointFile(dir, subtaskId), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    return 'value' in parsed ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}
