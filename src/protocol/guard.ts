import type { ParentMessage } from './messages.js';
import { BRAND, MAX_AGENT_CONCURRENCY, PROTOCOL_VERSION } from './constants.js';

/**
 * The child's check of parent messages: the brand and version, a known type, and the fields
 * the child reads, with their JS types. The parent is the trusted side; this catches version
 * skew and corruption without loading zod in the child (a test checks it agrees with the zod
 * schema on valid and invalid samples).
 */

type Check = (m: Record<string, unknown>) => boolean;

const str = (v: unknown): v is string => typeof v === 'string';
const int = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isResult(v: unknown): boolean {
  if (!obj(v)) return false;
  if (v['tag'] === 'success') return 'value' in v;
  return v['tag'] === 'failure' && obj(v['error']) && str(v['error']['code']) && str(v['error']['message']);
}

function isSubtaskView(v: unknown): boolean {
  return (
    obj(v) &&
    str(v['id']) &&
    str(v['parentTaskId']) &&
    str(v['description']) &&
    Array.isArray(v['expectedOutputs']) &&
    v['expectedOutputs'].every((o) => obj(o) && str(o['name'])) &&
    Number.isInteger(v['attempt'])
  );
}

const checks: Record<ParentMessage['type'], Check> = {
  init: (m) =>
    str(m['agentId']) && str(m['pluginPath']) && str(m['workspace']) && obj(m['grants']) && Array.isArray(m['grants']['read']) && Array.isArray(m['grants']['write']) && obj(m['netGuard']) && str(m['netGuard']['mode']) && Array.isArray(m['netGuard']['hosts']) && (m['maxConcurrency'] === undefined || (int(m['maxConcurrency']) && (m['maxConcurrency'] as number) >= 1 && (m['maxConcurrency'] as number) <= MAX_AGENT_CONCURRENCY)),
  execute: (m) => isSubtaskView(m['subtask']) && obj(m['inputs']),
  cancel: (m) => str(m['subtaskId']) && str(m['reason']),
  unqueue: (m) => str(m['subtaskId']),
  'tool-result': (m) => int(m['callId']) && isResult(m['result']),
  'sync-release': (m) => int(m['callId']) && isResult(m['result']),
  'channel-reply': (m) => int(m['callId']) && isResult(m['result']),
  'delegate-result': (m) => int(m['callId']) && isResult(m['result']),
  deliver: (m) => (m['stream'] === 'direct' || m['stream'] === 'topic') && str(m['from']) && 'body' in m,
  shutdown: (m) => str(m['reason']),
};

/** True when `m` is a well-formed parent message of this protocol version. */
export function isParentMessage(m: unknown): m is ParentMessage {
  if (!obj(m) || m[BRAND] !== PROTOCOL_VERSION || !str(m['type'])) return false;
  const check = Object.hasOwn(checks, m['type']) ? checks[m['type'] as ParentMessage['type']] : undefined;
  return check !== undefined && check(m);
}
