/**
 * Turns whatever a plugin threw into the plain QiError shape the protocol carries. No @qi/base
 * import here: the child builds the same plain data by hand.
 */

import type { ErrorCategory } from '@qi/base';

export interface WireError {
  code: string;
  message: string;
  category: ErrorCategory;
  context: Record<string, unknown>;
}

const NET_DENIED_CODE = 'ERR_QICOORD_NET_DENIED';

export function wireError(code: string, category: ErrorCategory, message: string, context: Record<string, unknown> = {}): WireError {
  return { code, message, category, context };
}

function isWireError(v: unknown): v is WireError {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return typeof e['code'] === 'string' && typeof e['message'] === 'string' && typeof e['category'] === 'string' && typeof e['context'] === 'object';
}

interface NodeishError {
  code?: unknown;
  permission?: unknown;
  resource?: unknown;
  cause?: unknown;
  qiError?: unknown;
  message?: unknown;
  stack?: unknown;
  name?: unknown;
}

/** What V8 throws when the kernel data cap (prlimit --data) refuses an ArrayBuffer. */
const KERNEL_CAP = /Array buffer allocation failed|ArrayBuffer allocation failed|Failed to allocate memory|WebAssembly\.Memory(\.grow)?\(\): (Unable to grow instance memory|could not allocate memory|Out of memory)/;

function permissionError(e: NodeishError, message: string): WireError | undefined {
  if (e.name === 'RangeError' && KERNEL_CAP.test(message)) {
    return wireError('MEMORY_LIMIT', 'RESOURCE', `memory allocation refused by the agent's kernel memory cap: ${message}`, { kernelCap: true });
  }
  if (e.code === 'EFBIG' || e.code === 'ENOSPC') {
    return wireError('DISK_LIMIT', 'RESOURCE', `the agent's disk cap refused a write (${String(e.code)}; maxDiskMB): ${message}`, { errno: e.code });
  }
  if (e.code === NET_DENIED_CODE) return wireError('NET_DENIED', 'AUTHORIZATION', message);
  if (e.code === 'ERR_DLOPEN_DISABLED') return wireError('PROCESS_DENIED', 'AUTHORIZATION', message, { permission: 'Addon' });
  if (e.code !== 'ERR_ACCESS_DENIED') return undefined;
  const permission = typeof e.permission === 'string' ? e.permission : 'unknown';
  const context = { permission, resource: typeof e.resource === 'string' ? e.resource : undefined };
  const what = context.resource === undefined ? permission : `${permission} ${context.resource}`;
  if (permission.startsWith('FileSystem')) {
    return wireError('FS_DENIED', 'AUTHORIZATION', `${what} denied: the agent's file-system grants do not cover this path (${message})`, context);
  }
  if (permission === 'Net') return wireError('NET_DENIED', 'AUTHORIZATION', message, context);
  return wireError('PROCESS_DENIED', 'AUTHORIZATION', `${what} denied: SubAgents may not start processes or workers; use the 'execute' tool where allowed (${message})`, context);
}

/** The messages of an error's cause chain, joined. */
function causeText(cause: unknown, depth = 0): string {
  if (depth > 4 || typeof cause !== 'object' || cause === null) return cause === undefined || cause === null ? '' : String(cause);
  const c = cause as NodeishError;
  const own = typeof c.message === 'string' ? c.message : String(cause);
  const deeper = causeText(c.cause, depth + 1);
  return deeper === '' ? own : `${own}: ${deeper}`;
}

/**
 * Maps a thrown value: a tool's QiError passes through; a permission-model or network-guard
 * denial anywhere in the cause chain becomes AUTHORIZATION (FS_DENIED / NET_DENIED /
 * PROCESS_DENIED); an allocation refused by the kernel memory cap is RESOURCE / MEMORY_LIMIT;
 * anything else is the plugin's own failure, BUSINESS / AGENT_ERROR.
 */
export function toWireError(thrown: unknown, subtaskId: string): WireError {
  let current: unknown = thrown;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const e = current as NodeishError;
    if (isWireError(e.qiError)) return e.qiError;
    const message = typeof e.message === 'string' ? e.message : String(current);
    const denial = permissionError(e, message);
    if (denial !== undefined) return { ...denial, context: { ...denial.context, subtaskId } };
    current = e.cause;
  }
  const e = (typeof thrown === 'object' && thrown !== null ? thrown : {}) as NodeishError;
  const message = typeof e.message === 'string' ? e.message : String(thrown);
  const cause = causeText(e.cause);
  return wireError('AGENT_ERROR', 'BUSINESS', `subtask '${subtaskId}' failed in the agent plugin: ${message}${cause === '' ? '' : ` (cause: ${cause})`}`, {
    subtaskId,
    name: typeof e.name === 'string' ? e.name : typeof thrown,
    stack: typeof e.stack === 'string' ? e.stack : undefined,
  });
}
