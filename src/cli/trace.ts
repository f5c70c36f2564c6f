import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { QiError, Result } from '@qi/base';
import { failure, success } from '@qi/base';
import { qiError } from '../errors/catalogue.js';
import type { CoordinatorEvent } from '../events/types.js';
import { safeStringify } from '../util/safe-json.js';

interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X' | 'M' | 'i';
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  s?: 'g' | 't';
  args?: Record<string, unknown>;
}

/**
 * Records a run as Chrome trace-event JSON (opens in Perfetto and chrome://tracing): one track
 * per agent; subtasks, synchronization waits and tool calls as slices; retries and fallbacks
 * as instant events on the coordinator's track.
 */
export class TraceRecorder {
  private readonly events: TraceEvent[] = [];
  private readonly tracks = new Map<string, number>();
  private readonly open = new Map<string, { ts: number; tid: number; attempt: number }>();
  /** Delegated subtasks: their parent subtask (for the nesting shown in the trace). */
  private readonly parents = new Map<string, string>();
  private readonly origin = Date.now();

  private us(at: number): number {
    return (at - this.origin) * 1000;
  }

  private tid(agentId: string): number {
    let tid = this.tracks.get(agentId);
    if (tid === undefined) {
      tid = this.tracks.size + 1;
      this.tracks.set(agentId, tid);
      this.events.push({ name: 'thread_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid, args: { name: agentId } });
    }
    return tid;
  }

  /** The track of the agent running `subtaskId` now (the coordinator's track when none is). */
  private parentTid(subtaskId: string): number {
    return this.open.get(subtaskId)?.tid ?? 0;
  }

  onEvent(event: CoordinatorEvent): void {
    switch (event.type) {
      case 'subtasks-delegated':
        for (const d of event.subtasks) this.parents.set(d.id, event.parentId);
        this.events.push({ name: `delegate:${event.parentId}`, cat: 'delegation', ph: 'i', s: 't', ts: this.us(event.at), pid: 1, tid: this.parentTid(event.parentId), args: { children: event.subtasks.map((d) => d.id) } });
        return;
      case 'subtask-start':
        this.open.set(event.subtaskId, { ts: this.us(event.at), tid: this.tid(event.agentId), attempt: event.attempt });
        return;
      case 'subtask-end': {
        const started = this.open.get(event.subtaskId);
        if (started === undefined) return;
        this.open.delete(event.subtaskId);
        const parent = this.parents.get(event.subtaskId);
        this.events.push({
          name: event.subtaskId,
          cat: parent === undefined ? 'subtask' : 'delegated',
          ph: 'X',
          ts: started.ts,
          dur: Math.max(1, this.us(event.at) - started.ts),
          pid: 1,
          tid: started.tid,
          args: { status: event.status, attempt: started.attempt, ...(parent === undefined ? {} : { parent }), ...(event.error === undefined ? {} : { error: event.error.code }) },
        });
        // The child again on its parent's track, inside the parent's slice (the parent waits for it): the tree shows as nesting.
        const host = parent === undefined ? undefined : this.open.get(parent);
        if (host !== undefined && host.tid !== started.tid) {
          this.events.push({ name: event.subtaskId, cat: 'delegated', ph: 'X', ts: started.ts, dur: Math.max(1, this.us(event.at) - started.ts), pid: 1, tid: host.tid, args: { status: event.status, ranOn: event.agentId ?? null } });
        }
        return;
      }
      case 'agent':
        if (event.event.type === 'tool') {
          const e = event.event;
          this.events.push({ name: `tool:${e.name}`, cat: 'tool', ph: 'X', ts: this.us(e.startedAt), dur: Math.max(1, (e.endedAt - e.startedAt) * 1000), pid: 1, tid: this.tid(e.agentId), args: { subtask: e.subtaskId, ok: e.ok } });
        }
        return;
      case 'sync': {
        const e = event.event;
        const waited = typeof e['waitedMs'] === 'number' ? e['waitedMs'] : undefined;
        if ((e['type'] === 'sync-release' || e['type'] === 'sync-fail') && waited !== undefined && typeof e['agentId'] === 'string') {
          this.events.push({ name: `sync:${String(e['pointId'])}`, cat: 'sync', ph: 'X', ts: this.us(event.at - waited), dur: Math.max(1, waited * 1000), pid: 1, tid: this.tid(e['agentId']), args: { type: e['type'], subtask: e['subtaskId'] } });
        }
        return;
      }
      case 'subtask-retry':
      case 'fallback':
        this.events.push({ name: event.type === 'fallback' ? `fallback:${event.action}` : `retry:${event.subtaskId}`, cat: 'coordination', ph: 'i', s: 'g', ts: this.us(event.at), pid: 1, tid: 0, args: { ...event } });
        return;
      default:
        return;
    }
  }

  /** Writes the trace file (JSON object format); a failure names the file and the cause. */
  write(file: string): Result<void, QiError> {
    const meta: TraceEvent = { name: 'process_name', cat: '__metadata', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'qicoord' } };
    try {
      writeFileSync(file, safeStringify({ traceEvents: [meta, ...this.events], displayTimeUnit: 'ms' }));
      return success(undefined);
    } catch (e) {
      return failure(traceError(file, e instanceof Error ? e.message : String(e)));
    }
  }
}

function traceError(file: string, cause: string): QiError {
  return qiError('FILE_NOT_FOUND', `--trace ${file} cannot be written: ${cause}. Fix: give --trace a file in an existing folder you can write to`, { path: file, option: '--trace' });
}

/** Checks before a run that the trace file can be written (its folder exists and is writable). */
export function checkTraceTarget(file: string): Result<void, QiError> {
  const resolved = path.resolve(file);
  const dir = path.dirname(resolved);
  if (!existsSync(dir)) return failure(traceError(file, `folder ${dir} does not exist`));
  if (!statSync(dir).isDirectory()) return failure(traceError(file, `${dir} is not a folder`));
  if (existsSync(resolved) && statSync(resolved).isDirectory()) return failure(traceError(file, 'it is a folder'));
  try {
    accessSync(existsSync(resolved) ? resolved : dir, constants.W_OK);
  } catch {
    return failure(traceError(file, `no permission to write in ${existsSync(resolved) ? resolved : dir}`));
  }
  return success(undefined);
}
