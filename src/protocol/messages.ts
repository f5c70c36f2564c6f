import { ErrorCategories } from '@qi/base';
import { z } from 'zod';
import { BRAND, MAX_AGENT_CONCURRENCY, PROTOCOL_VERSION } from './constants.js';

/**
 * The SubAgent channel protocol, version 1: one discriminated union per direction, every message
 * branded `{ __qicoord: 1 }`. The coordinator parses every child message with {@link ChildMessage}
 * (untrusted input); the child checks parent messages with the dependency-free guard in
 * `guard.ts` (importing zod would add ~110 ms to every SubAgent start).
 */

const brand = { [BRAND]: z.literal(PROTOCOL_VERSION) };
const Id = z.string().min(1).max(200);
const Text = z.string().max(65_536);
const Json = z.unknown();

export const QiErrorShape = z.object({
  code: z.string().min(1).max(100),
  message: Text,
  category: z.enum(ErrorCategories),
  context: z.record(z.string(), Json),
});

const ResultShape = z.discriminatedUnion('tag', [
  z.strictObject({ tag: z.literal('success'), value: Json }),
  z.strictObject({ tag: z.literal('failure'), error: QiErrorShape }),
]);

// ---- child → parent -------------------------------------------------------------------------

/**
 * `residentMB`: the runtime's own resident memory when it says hello, before any plugin code has
 * run (the coordinator takes the lower of it and its own reading as the agent's baseline).
 */
const Hello = z.strictObject({ ...brand, type: z.literal('hello'), pid: z.int(), node: z.string().max(50), residentMB: z.number().nonnegative().max(1_048_576).optional() });
const Ready = z.strictObject({
  ...brand,
  type: z.literal('ready'),
  plugin: z.strictObject({
    name: z.string().min(1).max(200),
    type: z.enum(['basic', 'decision-capable', 'specialized']),
    capabilities: z.array(z.string().min(1).max(200)).max(1000),
    description: Text.optional(),
    concurrency: z.int().min(2).max(MAX_AGENT_CONCURRENCY).optional(),
  }),
});
const InitFailed = z.strictObject({ ...brand, type: z.literal('init-failed'), error: QiErrorShape });
const Progress = z.strictObject({
  ...brand,
  type: z.literal('progress'),
  subtaskId: Id,
  fraction: z.number().min(0).max(1),
  note: z.string().max(1000).optional(),
});
const Log = z.strictObject({
  ...brand,
  type: z.literal('log'),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error']),
  msg: Text,
  data: z.record(z.string(), Json).optional(),
  subtaskId: Id.optional(),
});
const Audit = z.strictObject({
  ...brand,
  type: z.literal('audit'),
  kind: z.enum(['net', 'fs', 'child', 'worker']),
  action: z.enum(['blocked', 'audited']),
  detail: z.record(z.string(), Json),
});
const ToolCall = z.strictObject({
  ...brand,
  type: z.literal('tool-call'),
  callId: z.int().nonnegative(),
  subtaskId: Id,
  name: z.string().min(1).max(200),
  args: Json,
});
const SyncArrive = z.strictObject({
  ...brand,
  type: z.literal('sync-arrive'),
  callId: z.int().nonnegative(),
  subtaskId: Id,
  pointId: Id,
  value: Json.optional(),
});
const Channel = z.strictObject({
  ...brand,
  type: z.literal('channel'),
  callId: z.int().nonnegative(),
  subtaskId: Id,
  op: z.enum(['send', 'publish', 'subscribe', 'unsubscribe', 'messages', 'queue-push', 'queue-pull', 'queue-ack', 'restore', 'checkpoint']),
  target: z.string().max(200).optional(),
  body: Json.optional(),
  timeoutMs: z.int().nonnegative().optional(),
});
/** `ctx.delegate`: sub-agent requests, checked in full by the run (execution/delegation.ts). */
const Delegate = z.strictObject({
  ...brand,
  type: z.literal('delegate'),
  callId: z.int().nonnegative(),
  subtaskId: Id,
  requests: z.array(z.record(z.string(), Json)).min(1).max(1000),
});
const SubtaskResult = z.strictObject({
  ...brand,
  type: z.literal('result'),
  subtaskId: Id,
  outputs: z.record(z.string(), Json),
});
const SubtaskError = z.strictObject({ ...brand, type: z.literal('error'), subtaskId: Id, error: QiErrorShape });
/** A subtask sent ahead was taken back before it started (the coordinator's `unqueue`, or `cancel` of a queued one). */
const Unqueued = z.strictObject({ ...brand, type: z.literal('unqueued'), subtaskId: Id });

/** Every message a child may send. */
export const ChildMessage = z.discriminatedUnion('type', [
  Hello,
  Ready,
  InitFailed,
  Progress,
  Log,
  Audit,
  ToolCall,
  SyncArrive,
  Channel,
  Delegate,
  SubtaskResult,
  SubtaskError,
  Unqueued,
]);
export type ChildMessage = z.output<typeof ChildMessage>;

// ---- parent → child -------------------------------------------------------------------------

/** Network policy the child's guard applies (the seat belt; OS isolation is separate), sent in `init`. */
export interface NetGuardPolicy {
  /** off: nothing patched; audit: report, never block; deny-all; allow-list: only `hosts`. */
  readonly mode: 'off' | 'audit' | 'deny-all' | 'allow-list';
  /** `host` or `host:port` entries (allow-list mode). */
  readonly hosts: readonly string[];
}
const NetGuard = z.strictObject({
  mode: z.enum(['off', 'audit', 'deny-all', 'allow-list']),
  hosts: z.array(z.string()),
}) satisfies z.ZodType<NetGuardPolicy>;
const Init = z.strictObject({
  ...brand,
  type: z.literal('init'),
  agentId: Id,
  pluginPath: z.string().min(1),
  workspace: z.string().min(1),
  grants: z.strictObject({ read: z.array(z.string()), write: z.array(z.string()) }),
  netGuard: NetGuard,
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  /** The most subtasks the agent may run at once (sandbox.maxSubtasksPerAgent): a reentrant plugin's concurrency is capped at it. */
  maxConcurrency: z.int().min(1).max(MAX_AGENT_CONCURRENCY).optional(),
});
const SubtaskViewShape = z.strictObject({
  id: Id,
  parentTaskId: z.string(),
  description: z.string(),
  expectedOutputs: z.array(z.strictObject({ name: z.string(), type: z.string(), description: z.string() })),
  attempt: z.int().positive(),
});
const Execute = z.strictObject({
  ...brand,
  type: z.literal('execute'),
  subtask: SubtaskViewShape,
  inputs: z.record(z.string(), Json),
});
const Cancel = z.strictObject({ ...brand, type: z.literal('cancel'), subtaskId: Id, reason: z.string() });
/** Takes back a subtask sent ahead if it has not started (the child answers `unqueued`); one that started runs on. */
const Unqueue = z.strictObject({ ...brand, type: z.literal('unqueue'), subtaskId: Id });
const Reply = z.strictObject({
  ...brand,
  type: z.enum(['tool-result', 'sync-release', 'channel-reply', 'delegate-result']),
  callId: z.int().nonnegative(),
  result: ResultShape,
});
const Deliver = z.strictObject({
  ...brand,
  type: z.literal('deliver'),
  stream: z.enum(['direct', 'topic']),
  topic: z.string().optional(),
  from: z.string(),
  body: Json,
});
const Shutdown = z.strictObject({ ...brand, type: z.literal('shutdown'), reason: z.string() });

/** Every message the coordinator sends. */
export const ParentMessage = z.discriminatedUnion('type', [Init, Execute, Cancel, Unqueue, Reply, Deliver, Shutdown]);
export type ParentMessage = z.output<typeof ParentMessage>;
export type ParentMessageType = ParentMessage['type'];
export type SubtaskViewMessage = z.output<typeof SubtaskViewShape>;

/** Distributes Omit over a union (plain Omit collapses it). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A message without its brand, as the sending code builds it. */
export type Unbranded<M> = DistributiveOmit<M, typeof BRAND>;

/** Child messages that name a subtask; each must name the one its agent is running. */
export type SubtaskMessage = Extract<ChildMessage, { subtaskId: string }>;

const NAMES_SUBTASK: ReadonlySet<ChildMessage['type']> = new Set(['progress', 'log', 'tool-call', 'sync-arrive', 'channel', 'delegate', 'result', 'error', 'unqueued']);

/** The subtask a child message names, or undefined when it names none (a log record may name one or not). */
export function namedSubtask(m: ChildMessage): string | undefined {
  return NAMES_SUBTASK.has(m.type) ? (m as { subtaskId?: string }).subtaskId : undefined;
}
